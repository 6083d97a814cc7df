"""The programme in the staff console: the week's sessions, a new one-off session, a new series."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from booking.errors import BookingError, RoomClash, SeriesClash
from booking.programme import schedule_session
from booking.programme_queries import (
    bookable_activities,
    programme_week,
    venue,
    venue_rooms,
    venues_for,
    week_start,
)
from booking.series import create_series, local_instant
from booking.staff import Permission, StaffUser, VenueScope
from booking.timefmt import format_date, format_time, to_local
from booking.validation import is_digits
from web.staff.access import staff_rule
from web.staff.programme_forms import SKIP_PREFIX, Parsed, duration_minutes, parse_day, repeat_fields, session_fields

FormData = URLEncodedBody[dict[str, str]]
MANAGE = Permission.MANAGE_PROGRAMME


def page(template: str, status_code: int = 200, **context) -> Template:
    return Template(template_name=f"staff/{template}", context=context, status_code=status_code)


FORM_FIELDS = (
    "activity_id", "room_id", "date", "start", "end", "capacity", "setup_minutes", "cleardown_minutes",
    "frequency", "count", "until", "skip_dates", "scope",
)  #: what a suggestion link may fill in


def fill_url(path: str, form: dict, **changes: str) -> str:
    """A link to the form with its answers and the suggestion filled in (works without JavaScript)."""
    values = {name: form.get(name, "") for name in FORM_FIELDS if form.get(name)}
    values.update({name: value for name, value in changes.items() if value is not None})
    values["filled"] = "1"
    return f"{path}?{urlencode(values)}"


def filled_form(query: dict, defaults: dict) -> dict:
    """A form opened from a suggestion link: its answers from the query, each kept short."""
    form = dict(defaults)
    form.update({name: str(query[name])[:2000] for name in FORM_FIELDS if query.get(name)})
    return form


FILLED_NOTICE = "We have filled in the suggestion. Check the details, then save."


def clash_view(clash: RoomClash, time_zone: str, form: dict, path: str, *, series_day: date | None = None) -> dict:
    """What the clash panel shows: the clashing sessions (to link to) and the suggestions (links that fill the form)."""
    view = {
        "message": clash.message,
        "clashes": [{"session_id": c.session_id, "text": c.describe()} for c in clash.clashes],
        "next_free": None,
        "free_rooms": [
            {"name": room.name, "url": fill_url(path, form, room_id=str(room.room_id))} for room in clash.free_rooms
        ],
    }
    local = to_local(clash.next_free_at, time_zone) if clash.next_free_at else None
    if series_day is not None and local is not None and local.date() != series_day:
        local = None  # a series keeps its dates: only a later time that day is a suggestion for it
    if local is not None and _clock(form.get("start")) and _clock(form.get("end")):
        length = datetime.combine(date.min, _clock(form["end"])) - datetime.combine(date.min, _clock(form["start"]))
        changes = {"start": f"{local:%H:%M}", "end": f"{local + length:%H:%M}"}
        if series_day is None:
            changes["date"] = local.date().isoformat()
        view["next_free"] = {
            "label": f"{format_time(local)} on {format_date(local.date())}",
            "url": fill_url(path, form, **changes),
        }
    return view


def _clock(text: str | None):
    try:
        return datetime.strptime(text or "", "%H:%M").time()
    except ValueError:
        return None


class ProgrammeController(Controller):
    path = "/"

    @get("/programme", opt=staff_rule(MANAGE))
    async def programme(self, staff: NamedDependency[StaffUser], venue_id: FromQuery[str] = "", week: FromQuery[str] = "") -> Template:
        venues = await venues_for(staff.venue_filter())
        chosen = int(venue_id) if is_digits(venue_id) and any(v["id"] == int(venue_id) for v in venues) else None
        monday = week_start(parse_day(week) or datetime.now(timezone.utc).date())
        rows = await programme_week(monday, staff.venue_filter(), chosen)
        days: dict[date, list[dict]] = {}
        for row in rows:
            days.setdefault(to_local(row["starts_at"], row["time_zone"]).date(), []).append(row)
        return page(
            "programme.html", venues=venues, chosen=chosen, monday=monday, days=days,
            previous_week=(monday - timedelta(days=7)).isoformat(), next_week=(monday + timedelta(days=7)).isoformat(),
            week_label=format_date(monday, with_year=True),
        )

    @get("/venues/{venue_id:int}/sessions/new", opt=staff_rule(MANAGE, VenueScope.VENUE))
    async def new_session_page(self, request: Request, venue_id: FromPath[int]) -> Template:
        form = filled_form(request.query_params, {"setup_minutes": "0", "cleardown_minutes": "0"})
        return await _session_form(venue_id, form, {}, notice=FILLED_NOTICE if request.query_params.get("filled") else None)

    @post("/venues/{venue_id:int}/sessions/new", opt=staff_rule(MANAGE, VenueScope.VENUE))
    async def new_session(self, staff: NamedDependency[StaffUser], venue_id: FromPath[int], data: FormData) -> Template | Redirect:
        form = {key: str(value)[:2000] for key, value in (data or {}).items()}
        parsed = await _checked(venue_id, form, session_fields(form))
        if parsed.errors:
            return await _session_form(venue_id, form, parsed.errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        values, place = parsed.values, await venue(venue_id)
        starts_at = local_instant(values["date"], values["start"], place["time_zone"])
        ends_at = local_instant(values["date"], values["end"], place["time_zone"])
        try:
            session_id = await schedule_session(
                values["activity_id"], values["room_id"], starts_at, ends_at, values["capacity"],
                setup_minutes=values["setup_minutes"], cleardown_minutes=values["cleardown_minutes"], actor=staff,
            )
        except RoomClash as clash:
            return await _session_form(venue_id, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                       clash=clash_view(clash, place["time_zone"], form,
                                                        f"/staff/venues/{venue_id}/sessions/new"))
        except BookingError as error:
            return await _session_form(venue_id, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                       problem=error.message)
        return Redirect(f"/staff/sessions/{session_id}?notice=scheduled", status_code=HTTP_303_SEE_OTHER)

    @get("/venues/{venue_id:int}/series/new", opt=staff_rule(MANAGE, VenueScope.VENUE))
    async def new_series_page(self, request: Request, venue_id: FromPath[int]) -> Template:
        form = filled_form(request.query_params, {"setup_minutes": "0", "cleardown_minutes": "0", "frequency": "weekly"})
        return await _series_form(venue_id, form, {}, notice=FILLED_NOTICE if request.query_params.get("filled") else None)

    @post("/venues/{venue_id:int}/series/new", opt=staff_rule(MANAGE, VenueScope.VENUE))
    async def new_series(self, staff: NamedDependency[StaffUser], venue_id: FromPath[int], data: FormData) -> Template | Redirect:
        form = {key: str(value)[:2000] for key, value in (data or {}).items()}
        parsed = session_fields(form)
        repeat_fields(form, parsed)
        parsed = await _checked(venue_id, form, parsed)
        if parsed.errors:
            return await _series_form(venue_id, form, parsed.errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        values, place = parsed.values, await venue(venue_id)
        path = f"/staff/venues/{venue_id}/series/new"
        try:
            created = await create_series(
                values["activity_id"], values["room_id"], values["date"], values["start"], duration_minutes(values),
                values["capacity"], values["repeat"], setup_minutes=values["setup_minutes"],
                cleardown_minutes=values["cleardown_minutes"], actor=staff,
            )
        except SeriesClash as clash:
            occurrences = [
                {"day": o.day, "label": format_date(o.day, with_year=True), "name": f"{SKIP_PREFIX}{o.day.isoformat()}",
                 **clash_view(o.clash, place["time_zone"], form, path, series_day=o.day)}
                for o in clash.occurrences
            ]
            days = " ".join([form.get("skip_dates", "").strip(), *(o["day"].isoformat() for o in occurrences)]).strip()
            return await _series_form(venue_id, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                      series_clash={"message": clash.message, "occurrences": occurrences,
                                                    "skip_url": fill_url(path, form, skip_dates=days)})
        except RoomClash as clash:  # a race PostgreSQL caught after the check
            return await _series_form(venue_id, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                      problem=clash.message)
        except BookingError as error:
            return await _series_form(venue_id, form, {}, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                      problem=error.message)
        return Redirect(f"/staff/series/{created.series_id}?notice=created", status_code=HTTP_303_SEE_OTHER)


async def _checked(venue_id: int, form: dict, parsed: Parsed) -> Parsed:
    """The ids in the form must name a room of THIS venue and a current activity."""
    parsed.row_id("activity_id", "an activity", str(form.get("activity_id") or ""))
    activity = next((a for a in await bookable_activities() if a["id"] == parsed.values.get("activity_id")), None)
    if "activity_id" in parsed.values and activity is None:
        parsed.errors["activity_id"] = "Choose an activity from the list"
    rooms = await venue_rooms(venue_id)
    room = next((r for r in rooms if r["id"] == parsed.values.get("room_id")), None)
    if "room_id" in parsed.values and room is None:
        parsed.errors["room_id"] = "Choose one of this venue's rooms"
    if activity is not None and room is not None and parsed.values.get("capacity") == 0:
        parsed.values["capacity"] = min(activity["default_capacity"], room["capacity"])
        form["capacity"] = str(parsed.values["capacity"])
    if activity is not None and "start" in parsed.values and "end" not in parsed.values and "end" not in parsed.errors:
        end = datetime.combine(date.min, parsed.values["start"]) + timedelta(minutes=activity["default_duration_minutes"])
        if end.date() != date.min:
            parsed.errors["end"] = "Enter the end time: the session would run past midnight"
        else:
            parsed.values["end"] = end.time()
            form["end"] = f"{end:%H:%M}"
    elif activity is None and "end" not in parsed.values and "end" not in parsed.errors:
        parsed.errors["end"] = "Enter the end time"
    if room is not None and parsed.values.get("capacity", 0) > room["capacity"]:
        parsed.errors["capacity"] = (
            f"{room['name']} holds {room['capacity']} people, so the session cannot have more than "
            f"{room['capacity']} places"
        )
    return parsed


def room_options(rooms: list[dict]) -> list[tuple[str, str]]:
    return [(str(room["id"]), f"{room['name']} (holds {room['capacity']})") for room in rooms]


async def _form_context(venue_id: int) -> dict:
    activities = await bookable_activities()
    return {
        "place": await venue(venue_id),
        "room_options": room_options(await venue_rooms(venue_id)),
        "activity_options": [(str(a["id"]), a["title"]) for a in activities],
    }


async def _session_form(venue_id: int, form: dict, errors: dict, *, status_code: int = 200, **extra) -> Template:
    return page("session_new.html", status_code, form=form, errors=errors, **await _form_context(venue_id), **extra)


async def _series_form(venue_id: int, form: dict, errors: dict, *, status_code: int = 200, **extra) -> Template:
    return page("series_new.html", status_code, form=form, errors=errors, **await _form_context(venue_id), **extra)
