"""Staff pages for partner organisations: list, add, change, archive. Rules live in booking/activities_admin.py."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from booking.activities_admin import PARTNER_FIELDS, create_partner, set_partner_archived, update_partner
from booking.admin_fields import InvalidDetails
from booking.catalogue_views import get_partner, list_partners
from booking.staff import Permission, StaffUser
from web.params import RowId
from web.staff.access import staff_rule
from web.staff.catalogue_forms import FormData, form_values, notice_text, page, see_other

PARTNERS = staff_rule(Permission.MANAGE_PARTNERS)


async def _partner_or_404(partner_id: int) -> dict:
    partner = await get_partner(partner_id)
    if partner is None:
        raise NotFoundException()
    return partner


class PartnersController(Controller):
    path = "/partners"

    @get("/", opt=PARTNERS)
    async def partners(self, notice: FromQuery[str] = "") -> Template:
        return page("partners.html", partners=await list_partners(), notice=notice_text(notice))

    @get("/new", opt=PARTNERS)
    async def new_partner_form(self) -> Template:
        return page("partner_form.html", partner=None)

    @post("/new", opt=PARTNERS)
    async def add_partner(self, staff: NamedDependency[StaffUser], data: FormData) -> Template | Redirect:
        try:
            await create_partner(staff, data)
        except InvalidDetails as invalid:
            return page(
                "partner_form.html", HTTP_422_UNPROCESSABLE_ENTITY, form=data, errors=invalid.errors, partner=None
            )
        return see_other("/staff/partners?notice=created")

    @get("/{partner_id:int}/edit", opt=PARTNERS)
    async def edit_partner_form(self, partner_id: RowId, notice: FromQuery[str] = "") -> Template:
        partner = await _partner_or_404(partner_id)
        return page(
            "partner_form.html", form=form_values(partner, PARTNER_FIELDS), partner=partner, notice=notice_text(notice)
        )

    @post("/{partner_id:int}/edit", opt=PARTNERS)
    async def change_partner(self, staff: NamedDependency[StaffUser], partner_id: RowId, data: FormData) -> Template | Redirect:
        try:
            await update_partner(staff, partner_id, data)
        except InvalidDetails as invalid:
            return page(
                "partner_form.html",
                HTTP_422_UNPROCESSABLE_ENTITY,
                form=data,
                errors=invalid.errors,
                partner=await _partner_or_404(partner_id),
            )
        return see_other("/staff/partners?notice=saved")

    @post("/{partner_id:int}/archive", opt=PARTNERS)
    async def archive_partner(self, staff: NamedDependency[StaffUser], partner_id: RowId) -> Template | Redirect:
        return await _set_archived(staff, partner_id, True)

    @post("/{partner_id:int}/unarchive", opt=PARTNERS)
    async def unarchive_partner(self, staff: NamedDependency[StaffUser], partner_id: RowId) -> Template | Redirect:
        return await _set_archived(staff, partner_id, False)


async def _set_archived(staff: StaffUser, partner_id: int, archived: bool) -> Template | Redirect:
    try:
        changed = await set_partner_archived(staff, partner_id, archived)
    except InvalidDetails as invalid:  # bringing back a partner whose name a live one now has
        partner = await _partner_or_404(partner_id)
        return page(
            "partner_form.html",
            HTTP_422_UNPROCESSABLE_ENTITY,
            form=form_values(partner, PARTNER_FIELDS),
            partner=partner,
            problem=next(iter(invalid.errors.values())),
        )
    notice = ("archived" if archived else "unarchived") if changed else "unchanged"
    return see_other(f"/staff/partners/{partner_id}/edit?notice={notice}")
