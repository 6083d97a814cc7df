"""Repeating sessions: weekly, fortnightly or monthly series, created all at once or not at all.

Occurrences are an RFC 5545 RRULE (python-dateutil) over the venue's LOCAL wall-clock time, so a
10am class stays at 10am across the clock changes; each is stored in UTC. Monthly means the same
weekday of the month ("second Tuesday"; a fifth one becomes "last"), the way community groups
meet. A count includes skipped dates, as RRULE COUNT includes EXDATEs: 10 weeks with one bank
holiday skipped makes 9 sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from booking.audit import record_audit
from booking.clashes import room_clash, wait_for_room_writers
from booking.errors import BookingError, InvalidSeries, RoomClash, RoomNotFound, SeriesClash, SessionNotFound
from booking.programme import (
    SessionMove,
    _check_capacity_number,
    _check_times,
    _explaining_clash,
    _insert_session,
    _load_changeable_session,
    _load_room,
    _move_session,
    cancel_session,
    change_capacity,
    check_buffers,
)
from booking.staff import StaffUser
from booking.states import SessionStatus
from booking.tables import Activity, Room, Series, Session
from booking.timefmt import format_date, format_time, to_local
from commons.db import write_transaction

MAX_OCCURRENCES = 104  #: two years of weeks
MAX_DURATION_MINUTES = 24 * 60
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


class Frequency(str, Enum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Repeat:
    """How a series repeats: a count of dates or an end date (one of them), less the skipped dates."""

    frequency: Frequency
    count: int | None = None
    until: date | None = None
    skipped: frozenset[date] = frozenset()


def local_instant(day: date, clock: time, time_zone: str) -> datetime:
    """A wall-clock time on a local date, as a UTC instant."""
    return datetime.combine(day, clock).replace(tzinfo=ZoneInfo(time_zone)).astimezone(timezone.utc)


def monthly_position(day: date) -> int:
    """Which of its weekday in the month ``day`` is: 1 to 4, or -1 for a fifth (the last)."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def describe_repeat(first_day: date, frequency: Frequency) -> str:
    """"Every Tuesday", "Every other Tuesday", "The second Tuesday of each month"."""
    weekday = f"{first_day:%A}"
    if frequency is Frequency.WEEKLY:
        return f"Every {weekday}"
    if frequency is Frequency.FORTNIGHTLY:
        return f"Every other {weekday}"
    return f"The {_ORDINALS[monthly_position(first_day)]} {weekday} of each month"


def rule_text(first_day: date, repeat: Repeat) -> str:
    """The RRULE, without DTSTART (the series keeps that as ``first_starts_at``)."""
    _check_repeat(first_day, repeat)
    parts = ["FREQ=MONTHLY" if repeat.frequency is Frequency.MONTHLY else "FREQ=WEEKLY"]
    parts.append(f"INTERVAL={2 if repeat.frequency is Frequency.FORTNIGHTLY else 1}")
    if repeat.frequency is Frequency.MONTHLY:
        parts.append(f"BYDAY={monthly_position(first_day):+d}{_WEEKDAYS[first_day.weekday()]}")
    if repeat.count is not None:
        parts.append(f"COUNT={repeat.count}")
    else:
        parts.append(f"UNTIL={repeat.until:%Y%m%d}T235959")
    return ";".join(parts)


def occurrence_days(first_day: date, repeat: Repeat) -> list[date]:
    """The local dates of the series, skipped dates left out. Pure."""
    rule = rrulestr(rule_text(first_day, repeat), dtstart=datetime.combine(first_day, time()))
    days = []
    for moment in rule:
        days.append(moment.date())
        if len(days) > MAX_OCCURRENCES:
            raise InvalidSeries(
                f"A series can have at most {MAX_OCCURRENCES} dates. Choose an earlier end date or fewer sessions."
            )
    kept = [day for day in days if day not in repeat.skipped]
    if not kept:
        raise InvalidSeries("Every date in the series is skipped, so there would be no sessions.")
    return kept


def occurrence_times(
    first_day: date, clock: time, duration_minutes: int, repeat: Repeat, time_zone: str
) -> list[tuple[datetime, datetime]]:
    """Each occurrence's start and end in UTC, at the same local time every date. Pure."""
    length = timedelta(minutes=duration_minutes)
    starts = [local_instant(day, clock, time_zone) for day in occurrence_days(first_day, repeat)]
    return [(start, start + length) for start in starts]


def _check_repeat(first_day: date, repeat: Repeat) -> None:
    if (repeat.count is None) == (repeat.until is None):
        raise InvalidSeries("Give either the number of sessions or the date of the last one.")
    if repeat.count is not None and not 1 <= repeat.count <= MAX_OCCURRENCES:
        raise InvalidSeries(f"The number of sessions must be between 1 and {MAX_OCCURRENCES}.")
    if repeat.until is not None and repeat.until < first_day:
        raise InvalidSeries("The last date must be on or after the first.")


# --- Creating a series --------------------------------------------------------------------------


@dataclass(frozen=True)
class OccurrenceClash:
    """One date of a series that cannot have the room: the clash, with its suggestions."""

    starts_at: datetime
    ends_at: datetime
    day: date  #: the local date, for "skip this date"
    clash: RoomClash


@dataclass(frozen=True)
class SeriesCreated:
    series_id: int
    session_ids: list[int]


async def create_series(
    activity_id: int,
    room_id: int,
    first_day: date,
    clock: time,
    duration_minutes: int,
    capacity: int,
    repeat: Repeat,
    *,
    setup_minutes: int = 0,
    cleardown_minutes: int = 0,
    actor: StaffUser | None = None,
    now: datetime | None = None,
) -> SeriesCreated:
    """Schedule every occurrence, or none: ``SeriesClash`` lists every date whose room is busy."""
    now = now or datetime.now(timezone.utc)
    if not 0 < duration_minutes <= MAX_DURATION_MINUTES:
        raise InvalidSeries("A session must last between 1 minute and 24 hours.")
    _check_capacity_number(capacity)
    check_buffers(setup_minutes, cleardown_minutes)
    time_zone = await _room_time_zone(room_id)
    times = occurrence_times(first_day, clock, duration_minutes, repeat, time_zone)
    _check_times(times[0][0], times[0][1], now)
    buffers = {"setup_minutes": setup_minutes, "cleardown_minutes": cleardown_minutes}

    async def explain() -> Exception:
        await wait_for_room_writers([room_id])
        return await _series_clash(room_id, times, capacity, buffers, time_zone) or RoomClash()

    async with _explaining_clash(explain):
        async with write_transaction(Session._meta.db):
            room = await _load_room(room_id)
            activity = await Activity.select(Activity.title).where(Activity.id == activity_id).first()
            clash = await _series_clash(room_id, times, capacity, buffers, time_zone)
            if clash is not None:
                raise clash
            series = Series(
                activity=activity_id, room=room_id, rule=rule_text(first_day, repeat), first_starts_at=times[0][0],
                duration_minutes=duration_minutes, capacity=capacity,
                skipped_dates=",".join(sorted(day.isoformat() for day in repeat.skipped)),
                created_by=actor.id if actor else None, created_at=now, **buffers,
            )
            await series.save()
            session_ids = [
                await _insert_session(
                    activity_id, room_id, starts_at, ends_at, capacity, now,
                    series_id=series.id, actor=None, check_room=False, **buffers,
                )
                for starts_at, ends_at in times
            ]
            if actor is not None:
                await record_audit(
                    actor, "series.created", "series", series.id, venue_id=room["venue"], now=now,
                    summary=f"Scheduled {activity['title'] if activity else 'a series'} in {room['name']}: "
                    f"{describe_repeat(first_day, repeat.frequency).lower()} at "
                    f"{format_time(to_local(times[0][0], time_zone))}, {len(times)} sessions from "
                    f"{format_date(first_day, with_year=True)}.",
                    after={"rule": series.rule, "first_starts_at": times[0][0], "sessions": len(times),
                           "capacity": capacity, "skipped_dates": series.skipped_dates},
                )
    return SeriesCreated(series.id, session_ids)


async def _series_clash(
    room_id: int, times: list[tuple[datetime, datetime]], capacity: int, buffers: dict, time_zone: str,
    *, ignore_session_ids: tuple[int, ...] = (),
) -> SeriesClash | None:
    clashes = []
    for starts_at, ends_at in times:
        clash = await room_clash(
            room_id, starts_at, ends_at, buffers["setup_minutes"], buffers["cleardown_minutes"],
            capacity=capacity, ignore_session_ids=ignore_session_ids,
        )
        if clash is not None:
            clashes.append(OccurrenceClash(starts_at, ends_at, to_local(starts_at, time_zone).date(), clash))
    if not clashes:
        return None
    dates = "1 date clashes" if len(clashes) == 1 else f"{len(clashes)} dates clash"
    return SeriesClash(
        f"{dates} with sessions already in the room. Nothing has been saved: change the time or room, "
        "or skip those dates.",
        occurrences=clashes,
    )


async def _room_time_zone(room_id: int) -> str:
    row = await Room.select(Room.venue.time_zone.as_alias("time_zone")).where(
        (Room.id == room_id) & (Room.archived.eq(False))
    ).first()
    if row is None:
        raise RoomNotFound()
    return row["time_zone"]


# --- This and all following -----------------------------------------------------------------------


async def following_sessions(session_id: int) -> list[dict]:
    """This session and the later scheduled ones of its series (just this one if it is in none), in order."""
    this = await Session.select(Session.id, Session.series, Session.starts_at).where(Session.id == session_id).first()
    if this is None:
        raise SessionNotFound()
    if this["series"] is None:
        return [this]
    return await Session.select(Session.id, Session.series, Session.starts_at).where(
        (Session.series == this["series"]) & (Session.starts_at >= this["starts_at"])
        & (Session.status == SessionStatus.SCHEDULED.value)
    ).order_by(Session.starts_at)


async def change_following(
    session_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    room_id: int,
    capacity: int | None = None,
    setup_minutes: int | None = None,
    cleardown_minutes: int | None = None,
    actor: StaffUser | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Move this occurrence and every later one of its series the same way, all or nothing.

    Each later one moves by the same number of days, to the same local start time and length, into
    the same room, with the given set-up and clear-down buffers (None keeps each session's own).
    Clash-checked as a whole with the new buffers (``SeriesClash`` lists every date that cannot move).
    Returns the ids of the sessions changed.
    """
    now = now or datetime.now(timezone.utc)
    if setup_minutes is not None or cleardown_minutes is not None:
        check_buffers(setup_minutes or 0, cleardown_minutes or 0)
    time_zone = await _room_time_zone(room_id)
    sessions = await following_sessions(session_id)
    this_local = to_local(sessions[0]["starts_at"], time_zone)
    new_local = to_local(starts_at, time_zone)
    day_shift = new_local.date() - this_local.date()
    length = ends_at - starts_at
    moves: list[SessionMove] = []
    ids = tuple(row["id"] for row in sessions)

    async def explain() -> Exception:
        await wait_for_room_writers(move.room_id for move in moves)
        return await _moves_clash(moves, ids, time_zone) or RoomClash()

    async with _explaining_clash(explain):
        async with write_transaction(Session._meta.db):
            currents = [await _load_changeable_session(row["id"], now, "changed") for row in sessions]
            for current in currents:
                day = to_local(current["starts_at"], time_zone).date() + day_shift
                new_start = local_instant(day, new_local.time(), time_zone)
                moves.append(SessionMove(
                    current["id"], new_start, new_start + length, room_id,
                    current["setup_minutes"] if setup_minutes is None else setup_minutes,
                    current["cleardown_minutes"] if cleardown_minutes is None else cleardown_minutes,
                    capacity or current["capacity"],
                ))
            clash = await _moves_clash(moves, ids, time_zone)
            if clash is not None:
                raise clash
            pairs = list(zip(currents, moves, strict=True))
            if day_shift > timedelta(0) or (day_shift == timedelta(0) and starts_at > sessions[0]["starts_at"]):
                pairs.reverse()  # later ones move first, into time no other member still holds
            for current, move in pairs:
                if capacity is None or capacity == current["capacity"]:
                    await _move_session(current, move, now, actor=actor, check_room=False, ignore_session_ids=ids)
                elif capacity > current["capacity"]:  # more places: into the bigger room first
                    await _move_session(current, move, now, actor=actor, check_room=False, ignore_session_ids=ids)
                    await _with_date(change_capacity(current["id"], capacity, now, actor=actor), current, time_zone)
                else:
                    await _with_date(change_capacity(current["id"], capacity, now, actor=actor), current, time_zone)
                    await _move_session(
                        {**current, "capacity": capacity}, move, now, actor=actor, check_room=False,
                        ignore_session_ids=ids,
                    )
    return list(ids)


async def _with_date(step, current: dict, time_zone: str):
    """Run one step for one date; a refusal names the date it is about."""
    try:
        return await step
    except BookingError as error:
        day = format_date(to_local(current["starts_at"], time_zone).date())
        raise type(error)(f"{day}: {error.message}") from error


async def _moves_clash(moves, ids: tuple[int, ...], time_zone: str) -> SeriesClash | None:
    clashes = []
    for move in moves:
        clash = await room_clash(
            move.room_id, move.starts_at, move.ends_at, move.setup_minutes, move.cleardown_minutes,
            capacity=move.capacity, ignore_session_ids=ids,
        )
        if clash is not None:
            clashes.append(OccurrenceClash(move.starts_at, move.ends_at, to_local(move.starts_at, time_zone).date(), clash))
    if not clashes:
        return None
    dates = "1 date clashes" if len(clashes) == 1 else f"{len(clashes)} dates clash"
    return SeriesClash(f"{dates} with sessions already in the room. Nothing has been changed.", occurrences=clashes)


async def cancel_following(
    session_id: int, message: str = "", *, actor: StaffUser | None = None, now: datetime | None = None
) -> list[int]:
    """Cancel this occurrence and every later one of its series, in one transaction; returns their ids."""
    now = now or datetime.now(timezone.utc)
    async with write_transaction(Session._meta.db):
        sessions = await following_sessions(session_id)
        for row in sessions:
            await cancel_session(row["id"], message, now, actor=actor)
    return [row["id"] for row in sessions]
