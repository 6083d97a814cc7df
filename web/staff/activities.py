"""Staff pages for activities: list, add, change, archive. Rules live in booking/activities_admin.py."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from booking.activities_admin import ACTIVITY_FIELDS, create_activity, set_activity_archived, update_activity
from booking.admin_fields import InvalidDetails, StillInUse
from booking.catalogue_views import get_activity, list_activities, partner_choices
from booking.staff import Permission, StaffUser
from booking.states import ActivityCategory, WaitlistMode
from web.params import RowId
from web.staff.access import staff_rule
from web.staff.catalogue_forms import FormData, form_values, notice_text, page, see_other

ACTIVITIES = staff_rule(Permission.MANAGE_ACTIVITIES)
#: a new activity's form starts with the table's defaults
NEW_ACTIVITY = {
    "default_capacity": "12",
    "default_duration_minutes": "60",
    "max_party_size": "4",
    "booking_opens_days": "28",
    "booking_closes_hours": "1",
    "max_active_bookings": "0",
    "waitlist_mode": WaitlistMode.OFFER.value,
    "offer_hours": "12",
    "reminder_hours": "24,2",
}


async def _form_page(status_code: int = 200, *, activity: dict | None, **context) -> Template:
    keep = activity["partner"] if activity else None
    partners = [
        (str(partner["id"]), f"{partner['name']} (archived)" if partner["archived"] else partner["name"])
        for partner in await partner_choices(keep)
    ]
    categories = [(category.value, category.label) for category in ActivityCategory]
    return page(
        "activity_form.html",
        status_code,
        activity=activity,
        categories_pairs=categories,
        partner_pairs=partners,
        **context,
    )


async def _activity_or_404(activity_id: int) -> dict:
    activity = await get_activity(activity_id)
    if activity is None:
        raise NotFoundException()
    return activity


class ActivitiesController(Controller):
    path = "/activities"

    @get("/", opt=ACTIVITIES)
    async def activities(self, notice: FromQuery[str] = "") -> Template:
        return page(
            "activities.html",
            activities=await list_activities(),
            notice=notice_text(notice),
            category_labels={category.value: category.label for category in ActivityCategory},
        )

    @get("/new", opt=ACTIVITIES)
    async def new_activity_form(self) -> Template:
        return await _form_page(activity=None, form=dict(NEW_ACTIVITY))

    @post("/new", opt=ACTIVITIES)
    async def add_activity(self, staff: NamedDependency[StaffUser], data: FormData) -> Template | Redirect:
        try:
            await create_activity(staff, data)
        except InvalidDetails as invalid:
            return await _form_page(HTTP_422_UNPROCESSABLE_ENTITY, activity=None, form=data, errors=invalid.errors)
        return see_other("/staff/activities?notice=created")

    @get("/{activity_id:int}/edit", opt=ACTIVITIES)
    async def edit_activity_form(self, activity_id: RowId, notice: FromQuery[str] = "") -> Template:
        activity = await _activity_or_404(activity_id)
        return await _form_page(
            activity=activity, form=form_values(activity, ACTIVITY_FIELDS), notice=notice_text(notice)
        )

    @post("/{activity_id:int}/edit", opt=ACTIVITIES)
    async def change_activity(self, staff: NamedDependency[StaffUser], activity_id: RowId, data: FormData) -> Template | Redirect:
        try:
            await update_activity(staff, activity_id, data)
        except InvalidDetails as invalid:
            return await _form_page(
                HTTP_422_UNPROCESSABLE_ENTITY,
                activity=await _activity_or_404(activity_id),
                form=data,
                errors=invalid.errors,
            )
        return see_other("/staff/activities?notice=saved")

    @post("/{activity_id:int}/archive", opt=ACTIVITIES)
    async def archive_activity(self, staff: NamedDependency[StaffUser], activity_id: RowId) -> Template | Redirect:
        return await _set_archived(staff, activity_id, True)

    @post("/{activity_id:int}/unarchive", opt=ACTIVITIES)
    async def unarchive_activity(self, staff: NamedDependency[StaffUser], activity_id: RowId) -> Template | Redirect:
        return await _set_archived(staff, activity_id, False)


async def _set_archived(staff: StaffUser, activity_id: int, archived: bool) -> Template | Redirect:
    try:
        changed = await set_activity_archived(staff, activity_id, archived)
    except StillInUse as refused:
        activity = await _activity_or_404(activity_id)
        return await _form_page(
            HTTP_409_CONFLICT, activity=activity, form=form_values(activity, ACTIVITY_FIELDS), problem=refused.message
        )
    notice = ("archived" if archived else "unarchived") if changed else "unchanged"
    return see_other(f"/staff/activities/{activity_id}/edit?notice={notice}")
