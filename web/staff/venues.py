"""Staff pages for venues and their rooms: list, add, change, archive. Rules live in booking/venues_admin.py."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from booking.admin_fields import DEFAULT_TIME_ZONE, InvalidDetails, StillInUse
from booking.catalogue_views import get_room, get_venue, list_venues
from booking.staff import Permission, StaffUser, VenueScope
from booking.venues_admin import (
    ROOM_FIELDS,
    VENUE_FIELDS,
    create_room,
    create_venue,
    set_room_archived,
    set_venue_archived,
    update_room,
    update_venue,
)
from web.staff.access import staff_rule
from web.staff.catalogue_forms import FormData, form_values, notice_text, page, see_other

ROOMS = staff_rule(Permission.MANAGE_ROOMS)
VENUE_ROOMS = staff_rule(Permission.MANAGE_ROOMS, VenueScope.VENUE)
NEW_VENUE = staff_rule(Permission.MANAGE_VENUES)
VENUE = staff_rule(Permission.MANAGE_VENUES, VenueScope.VENUE)
ROOM = staff_rule(Permission.MANAGE_ROOMS, VenueScope.ROOM)


async def _venue_or_404(venue_id: int) -> dict:
    venue = await get_venue(venue_id)
    if venue is None:
        raise NotFoundException()
    return venue


async def _venue_page(
    staff: StaffUser, venue_id: int, *, status_code: int = 200, notice: str | None = None, problem: str | None = None
) -> Template:
    return page(
        "venue.html",
        status_code,
        venue=await _venue_or_404(venue_id),
        notice=notice,
        problem=problem,
        can_manage_venues=staff.can(Permission.MANAGE_VENUES),
        can_manage_programme=staff.can(Permission.MANAGE_PROGRAMME),
    )


class VenuesController(Controller):
    path = "/venues"

    @get("/", opt=ROOMS)
    async def venues(self, staff: NamedDependency[StaffUser], notice: FromQuery[str] = "") -> Template:
        return page(
            "venues.html",
            venues=await list_venues(staff.venue_filter()),
            notice=notice_text(notice),
            can_manage_venues=staff.can(Permission.MANAGE_VENUES),
        )

    @get("/new", opt=NEW_VENUE)
    async def new_venue_form(self) -> Template:
        return page("venue_form.html", form={"time_zone": DEFAULT_TIME_ZONE}, venue=None)

    @post("/new", opt=NEW_VENUE)
    async def add_venue(self, staff: NamedDependency[StaffUser], data: FormData) -> Template | Redirect:
        try:
            venue_id = await create_venue(staff, data)
        except InvalidDetails as invalid:
            return page("venue_form.html", HTTP_422_UNPROCESSABLE_ENTITY, form=data, errors=invalid.errors, venue=None)
        return see_other(f"/staff/venues/{venue_id}?notice=created")

    @get("/{venue_id:int}", opt=VENUE_ROOMS)
    async def venue(self, staff: NamedDependency[StaffUser], venue_id: FromPath[int], notice: FromQuery[str] = "") -> Template:
        return await _venue_page(staff, venue_id, notice=notice_text(notice))

    @get("/{venue_id:int}/edit", opt=VENUE)
    async def edit_venue_form(self, venue_id: FromPath[int]) -> Template:
        venue = await _venue_or_404(venue_id)
        return page("venue_form.html", form=form_values(venue, VENUE_FIELDS), venue=venue)

    @post("/{venue_id:int}/edit", opt=VENUE)
    async def change_venue(self, staff: NamedDependency[StaffUser], venue_id: FromPath[int], data: FormData) -> Template | Redirect:
        try:
            await update_venue(staff, venue_id, data)
        except InvalidDetails as invalid:
            return page(
                "venue_form.html",
                HTTP_422_UNPROCESSABLE_ENTITY,
                form=data,
                errors=invalid.errors,
                venue=await _venue_or_404(venue_id),
            )
        return see_other(f"/staff/venues/{venue_id}?notice=saved")

    @post("/{venue_id:int}/archive", opt=VENUE)
    async def archive_venue(self, staff: NamedDependency[StaffUser], venue_id: FromPath[int]) -> Template | Redirect:
        return await _set_venue_archived(staff, venue_id, True)

    @post("/{venue_id:int}/unarchive", opt=VENUE)
    async def unarchive_venue(self, staff: NamedDependency[StaffUser], venue_id: FromPath[int]) -> Template | Redirect:
        return await _set_venue_archived(staff, venue_id, False)

    @get("/{venue_id:int}/rooms/new", opt=VENUE_ROOMS)
    async def new_room_form(self, venue_id: FromPath[int]) -> Template:
        return page("room_form.html", venue=await _venue_or_404(venue_id), room=None)

    @post("/{venue_id:int}/rooms/new", opt=VENUE_ROOMS)
    async def add_room(self, staff: NamedDependency[StaffUser], venue_id: FromPath[int], data: FormData) -> Template | Redirect:
        try:
            await create_room(staff, venue_id, data)
        except InvalidDetails as invalid:
            return page(
                "room_form.html",
                HTTP_422_UNPROCESSABLE_ENTITY,
                form=data,
                errors=invalid.errors,
                venue=await _venue_or_404(venue_id),
                room=None,
            )
        return see_other(f"/staff/venues/{venue_id}?notice=created")


async def _set_venue_archived(staff: StaffUser, venue_id: int, archived: bool) -> Template | Redirect:
    try:
        changed = await set_venue_archived(staff, venue_id, archived)
    except StillInUse as refused:
        return await _venue_page(staff, venue_id, status_code=HTTP_409_CONFLICT, problem=refused.message)
    notice = ("archived" if archived else "unarchived") if changed else "unchanged"
    return see_other(f"/staff/venues/{venue_id}?notice={notice}")


class RoomsController(Controller):
    path = "/rooms"

    @get("/{room_id:int}/edit", opt=ROOM)
    async def edit_room_form(self, room_id: FromPath[int]) -> Template:
        room = await _room_or_404(room_id)
        return page(
            "room_form.html",
            form=form_values(room, ROOM_FIELDS),
            room=room,
            venue={"id": room["venue"], "name": room["venue_name"]},
        )

    @post("/{room_id:int}/edit", opt=ROOM)
    async def change_room(self, staff: NamedDependency[StaffUser], room_id: FromPath[int], data: FormData) -> Template | Redirect:
        try:
            await update_room(staff, room_id, data)
        except InvalidDetails as invalid:
            return await _room_page(room_id, HTTP_422_UNPROCESSABLE_ENTITY, form=data, errors=invalid.errors)
        room = await _room_or_404(room_id)
        return see_other(f"/staff/venues/{room['venue']}?notice=saved")

    @post("/{room_id:int}/archive", opt=ROOM)
    async def archive_room(self, staff: NamedDependency[StaffUser], room_id: FromPath[int]) -> Template | Redirect:
        return await _set_room_archived(staff, room_id, True)

    @post("/{room_id:int}/unarchive", opt=ROOM)
    async def unarchive_room(self, staff: NamedDependency[StaffUser], room_id: FromPath[int]) -> Template | Redirect:
        return await _set_room_archived(staff, room_id, False)


async def _room_or_404(room_id: int) -> dict:
    room = await get_room(room_id)
    if room is None:
        raise NotFoundException()
    return room


async def _room_page(room_id: int, status_code: int, **context) -> Template:
    room = await _room_or_404(room_id)
    context.setdefault("form", form_values(room, ROOM_FIELDS))
    return page(
        "room_form.html", status_code, room=room, venue={"id": room["venue"], "name": room["venue_name"]}, **context
    )


async def _set_room_archived(staff: StaffUser, room_id: int, archived: bool) -> Template | Redirect:
    try:
        changed = await set_room_archived(staff, room_id, archived)
    except StillInUse as refused:
        return await _room_page(room_id, HTTP_409_CONFLICT, problem=refused.message)
    except InvalidDetails as invalid:  # bringing back a room whose name another live room now has
        return await _room_page(room_id, HTTP_422_UNPROCESSABLE_ENTITY, problem=next(iter(invalid.errors.values())))
    room = await _room_or_404(room_id)
    notice = ("archived" if archived else "unarchived") if changed else "unchanged"
    return see_other(f"/staff/venues/{room['venue']}?notice={notice}")
