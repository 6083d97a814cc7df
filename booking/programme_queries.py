"""What the staff programme pages read: a week of sessions, one session, one series, a venue's rooms."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.series import Frequency, describe_repeat
from booking.states import SessionStatus
from booking.tables import Activity, Room, Series, Session, Venue
from booking.timefmt import to_local

PROGRAMME_TIME_ZONE = "Europe/London"  #: where the week of the programme list starts and ends


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def programme_week(monday: date, venue_ids: frozenset[int] | None, venue_id: int | None = None) -> list[dict]:
    """The week's sessions (cancelled ones too) at these venues (None: every venue), in order."""
    zone = ZoneInfo(PROGRAMME_TIME_ZONE)
    starts = datetime.combine(monday, time(), zone)
    ends = datetime.combine(monday + timedelta(days=7), time(), zone)
    query = Session.select(
        Session.id, Session.starts_at, Session.ends_at, Session.capacity, Session.booked, Session.status,
        Session.series, Session.activity.title.as_alias("activity_title"), Session.room.name.as_alias("room_name"),
        Session.room.venue.as_alias("venue_id"), Session.room.venue.name.as_alias("venue_name"),
        Session.room.venue.time_zone.as_alias("time_zone"),
    ).where((Session.starts_at >= starts) & (Session.starts_at < ends))
    if venue_ids is not None:
        query = query.where(Session.room.venue.is_in(list(venue_ids) or [0]))
    if venue_id is not None:
        query = query.where(Session.room.venue == venue_id)
    return await query.order_by(Session.starts_at)


async def venues_for(venue_ids: frozenset[int] | None) -> list[dict]:
    query = Venue.select(Venue.id, Venue.name, Venue.time_zone).where(Venue.archived.eq(False))
    if venue_ids is not None:
        query = query.where(Venue.id.is_in(list(venue_ids) or [0]))
    return await query.order_by(Venue.name)


async def venue(venue_id: int) -> dict | None:
    return await Venue.select(Venue.id, Venue.name, Venue.time_zone).where(Venue.id == venue_id).first()


async def venue_rooms(venue_id: int) -> list[dict]:
    return await Room.select(Room.id, Room.name, Room.capacity).where(
        (Room.venue == venue_id) & (Room.archived.eq(False))
    ).order_by(Room.name)


async def bookable_activities() -> list[dict]:
    return await Activity.select(
        Activity.id, Activity.title, Activity.default_capacity, Activity.default_duration_minutes
    ).where(Activity.archived.eq(False)).order_by(Activity.title)


async def session_details(session_id: int) -> dict | None:
    return await Session.select(
        Session.id, Session.starts_at, Session.ends_at, Session.capacity, Session.booked, Session.held,
        Session.status, Session.series, Session.setup_minutes, Session.cleardown_minutes, Session.room,
        Session.activity, Session.activity.title.as_alias("activity_title"), Session.room.name.as_alias("room_name"),
        Session.room.capacity.as_alias("room_capacity"), Session.room.venue.as_alias("venue_id"),
        Session.room.venue.name.as_alias("venue_name"), Session.room.venue.time_zone.as_alias("time_zone"),
    ).where(Session.id == session_id).first()


async def series_details(series_id: int) -> dict | None:
    row = await Series.select(
        Series.id, Series.rule, Series.first_starts_at, Series.duration_minutes, Series.capacity,
        Series.skipped_dates, Series.setup_minutes, Series.cleardown_minutes,
        Series.activity.title.as_alias("activity_title"), Series.room.name.as_alias("room_name"),
        Series.room.venue.as_alias("venue_id"), Series.room.venue.name.as_alias("venue_name"),
        Series.room.venue.time_zone.as_alias("time_zone"),
    ).where(Series.id == series_id).first()
    if row is None:
        return None
    frequency = Frequency.MONTHLY if "FREQ=MONTHLY" in row["rule"] else (
        Frequency.FORTNIGHTLY if "INTERVAL=2" in row["rule"] else Frequency.WEEKLY
    )
    first_local = to_local(row["first_starts_at"], row["time_zone"])
    row["repeat_text"] = describe_repeat(first_local.date(), frequency)
    row["skipped"] = [date.fromisoformat(day) for day in row["skipped_dates"].split(",") if day]
    row["sessions"] = await Session.select(
        Session.id, Session.starts_at, Session.ends_at, Session.capacity, Session.booked, Session.status,
        Session.room.name.as_alias("room_name"),
    ).where(Session.series == series_id).order_by(Session.starts_at)
    return row


def is_scheduled(row: dict) -> bool:
    return row["status"] == SessionStatus.SCHEDULED.value
