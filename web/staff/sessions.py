"""One session in the staff console: its page, changing it (this one, or this and the rest of its series), cancelling it; a series' page."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from booking.errors import BookingError, RoomClash, SeriesClash
from booking.programme import cancel_session, edit_session
from booking.programme_queries import series_details, session_details, venue_rooms
from booking.series import cancel_following, change_following, local_instant
from booking.staff import Permission, StaffUser, VenueScope
from booking.timefmt import format_date, to_local
from web.staff.access import staff_rule
from web.staff.programme import FILLED_NOTICE, FormData, clash_view, filled_form, page, room_options
from web.staff.programme_forms import session_fields, text

MANAGE = Permission.MANAGE_PROGRAMME
NOTICES = {
    "scheduled": "The session is in the programme.",
    "changed": "The session has been changed. Everyone booked will be told once.",
    "changed-following": "This session and the later ones in the series have been changed. Everyone booked will be told.",
    "cancelled": "The session has been cancelled. Everyone booked will be told.",
    "cancelled-following": "This session and the later ones in the series have been cancelled. Everyone booked will be told.",
    "created": "The series is in the programme.",
}
SCOPES = ("one", "following")


class SessionsController(Controller):
    path = "/"

    @get("/sessions/{session_id:int}", opt=staff_rule(MANAGE, VenueScope.SESSION))
    async def session_page(self, session_id: FromPath[int], notice: FromQuery[str] = "") -> Template:
        session = await _session(session_id)
        return page("session_detail.html", session=session, notice=NOTICES.get(notice))

    @get("/sessions/{session_id:int}/edit", opt=staff_rule(MANAGE, VenueScope.SESSION))
    async def edit_page(self, request: Request, session_id: FromPath[int]) -> Template:
        session = await _session(session_id)
        start, end = to_local(session["starts_at"], session["time_zone"]), to_local(session["ends_at"], session["time_zone"])
        form = {
            "date": start.date().isoformat(), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
            "room_id": str(session["room"]), "capacity": str(session["capacity"]),
            "setup_minutes": str(session["setup_minutes"]), "cleardown_minutes": str(session["cleardown_minutes"]),
            "scope": "one",
        }
        form = filled_form(request.query_params, form)
        return await _edit_form(session, form, {}, notice=FILLED_NOTICE if request.query_params.get("filled") else None)

    @post("/sessions/{session_id:int}/edit", opt=staff_rule(MANAGE, VenueScope.SESSION))
    async def edit(self, staff: NamedDependency[StaffUser], session_id: FromPath[int], data: FormData) -> Template | Redirect:
        session = await _session(session_id)
        form = {key: str(value)[:2000] for key, value in (data or {}).items()}
        parsed = session_fields(form)
        if "end" not in parsed.values and "end" not in parsed.errors:
            parsed.errors["end"] = "Enter the end time"
        if parsed.values.get("capacity") == 0:
            parsed.values["capacity"] = session["capacity"]
        rooms = await venue_rooms(session["venue_id"])
        if "room_id" in parsed.values and not any(r["id"] == parsed.values["room_id"] for r in rooms):
            parsed.errors["room_id"] = "Choose one of this venue's rooms"
        scope = text(form, "scope")
        if session["series"] and scope not in SCOPES:
            parsed.errors["scope"] = "Choose whether to change this session only, or this and the later ones"
        if parsed.errors:
            return await _edit_form(session, form, parsed.errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        values, zone = parsed.values, session["time_zone"]
        starts_at = local_instant(values["date"], values["start"], zone)
        ends_at = local_instant(values["date"], values["end"], zone)
        try:
            if session["series"] and scope == "following":
                await change_following(session_id, starts_at=starts_at, ends_at=ends_at, room_id=values["room_id"],
                                       capacity=values["capacity"], setup_minutes=values["setup_minutes"],
                                       cleardown_minutes=values["cleardown_minutes"], actor=staff)
            else:
                await edit_session(session_id, starts_at=starts_at, ends_at=ends_at, room_id=values["room_id"],
                                   capacity=values["capacity"], setup_minutes=values["setup_minutes"],
                                   cleardown_minutes=values["cleardown_minutes"], actor=staff)
        except RoomClash as clash:
            return await _edit_form(session, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                    clash=clash_view(clash, zone, form, f"/staff/sessions/{session_id}/edit"))
        except SeriesClash as clash:
            problems = [f"{format_date(o.day)}: {o.clash.message}" for o in clash.occurrences]
            return await _edit_form(session, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                    problem=clash.message, problems=problems)
        except BookingError as error:
            return await _edit_form(session, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY, problem=error.message)
        done = "changed-following" if session["series"] and scope == "following" else "changed"
        return Redirect(f"/staff/sessions/{session_id}?notice={done}", status_code=HTTP_303_SEE_OTHER)

    @get("/sessions/{session_id:int}/cancel", opt=staff_rule(MANAGE, VenueScope.SESSION))
    async def cancel_page(self, session_id: FromPath[int]) -> Template:
        session = await _session(session_id)
        return page("session_cancel.html", session=session, form={"scope": "one"}, errors={})

    @post("/sessions/{session_id:int}/cancel", opt=staff_rule(MANAGE, VenueScope.SESSION))
    async def cancel(self, staff: NamedDependency[StaffUser], session_id: FromPath[int], data: FormData) -> Template | Redirect:
        session = await _session(session_id)
        form = {key: str(value)[:2000] for key, value in (data or {}).items()}
        scope = text(form, "scope")
        errors = {}
        if session["series"] and scope not in SCOPES:
            errors["scope"] = "Choose whether to cancel this session only, or this and the later ones"
        if len(form.get("message", "")) > 1000:
            errors["message"] = "The message must be 1,000 characters or fewer"
        problem = None
        if not errors:
            try:
                if session["series"] and scope == "following":
                    await cancel_following(session_id, form.get("message", ""), actor=staff)
                    return Redirect(f"/staff/sessions/{session_id}?notice=cancelled-following", status_code=HTTP_303_SEE_OTHER)
                await cancel_session(session_id, form.get("message", ""), actor=staff)
                return Redirect(f"/staff/sessions/{session_id}?notice=cancelled", status_code=HTTP_303_SEE_OTHER)
            except BookingError as error:
                problem = error.message
        return page("session_cancel.html", HTTP_422_UNPROCESSABLE_ENTITY, session=session, form=form, errors=errors,
                    problem=problem)

    @get("/series/{series_id:int}", opt=staff_rule(MANAGE, VenueScope.SERIES))
    async def series_page(self, series_id: FromPath[int], notice: FromQuery[str] = "") -> Template:
        series = await series_details(series_id)
        if series is None:
            raise NotFoundException()
        return page("series_detail.html", series=series, notice=NOTICES.get(notice))


async def _session(session_id: int) -> dict:
    session = await session_details(session_id)
    if session is None:
        raise NotFoundException()
    return session


async def _edit_form(session: dict, form: dict, errors: dict, *, status_code: int = 200, **extra) -> Template:
    rooms = await venue_rooms(session["venue_id"])
    return page("session_edit.html", status_code, session=session, form=form, errors=errors,
                room_options=room_options(rooms), **extra)
