"""Room clashes: which scheduled sessions a room already holds at a time, and where else or when it is free.

A session keeps its room busy from its start less its set-up buffer to its end plus its clear-down
buffer. PostgreSQL also refuses an overlap itself (the ``session_room_free`` exclusion constraint);
on SQLite the check inside the write transaction is the guarantee (one writer at a time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.errors import RoomClash
from booking.states import SessionStatus
from booking.tables import Room, Session
from booking.timefmt import format_date, format_time, to_local

MAX_BUFFER_MINUTES = 240  #: the longest set-up or clear-down buffer a session may have
SEARCH_DAYS = 14  #: how far ahead ``next_free_slot`` looks
EXCLUSION_CONSTRAINT = "session_room_free"


@dataclass(frozen=True)
class Busy:
    """When a room is wanted: the session's own times and its buffers."""

    starts_at: datetime
    ends_at: datetime
    setup_minutes: int = 0
    cleardown_minutes: int = 0

    @property
    def busy_from(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.setup_minutes)

    @property
    def busy_until(self) -> datetime:
        return self.ends_at + timedelta(minutes=self.cleardown_minutes)

    def overlaps(self, other: Busy) -> bool:
        return self.busy_from < other.busy_until and other.busy_from < self.busy_until

    def moved_to(self, starts_at: datetime) -> Busy:
        return Busy(starts_at, starts_at + (self.ends_at - self.starts_at), self.setup_minutes, self.cleardown_minutes)


@dataclass(frozen=True)
class Clash:
    """A scheduled session already in the room at an overlapping time."""

    session_id: int
    activity_title: str
    room_name: str
    time_zone: str
    busy: Busy

    @property
    def starts_at(self) -> datetime:
        return self.busy.starts_at

    @property
    def ends_at(self) -> datetime:
        return self.busy.ends_at

    def describe(self) -> str:
        """"Craft club is in Community room from 2pm to 4pm on Tuesday 3 March"."""
        start, end = to_local(self.starts_at, self.time_zone), to_local(self.ends_at, self.time_zone)
        text = (
            f"{self.activity_title} is in {self.room_name} from {format_time(start)} to {format_time(end)} "
            f"on {format_date(start.date())}"
        )
        if self.busy.setup_minutes or self.busy.cleardown_minutes:
            busy_from = to_local(self.busy.busy_from, self.time_zone)
            busy_until = to_local(self.busy.busy_until, self.time_zone)
            text += f" (with set-up and clear-down, {format_time(busy_from)} to {format_time(busy_until)})"
        return text


@dataclass(frozen=True)
class FreeRoom:
    room_id: int
    name: str
    capacity: int


async def find_clashes(
    room_id: int,
    starts_at: datetime,
    ends_at: datetime,
    setup_minutes: int = 0,
    cleardown_minutes: int = 0,
    ignore_session_id: int | None = None,
    *,
    ignore_session_ids: Iterable[int] = (),
) -> list[Clash]:
    """The scheduled sessions in the room whose busy time overlaps this one, earliest first."""
    wanted = Busy(starts_at, ends_at, setup_minutes, cleardown_minutes)
    ignored = set(ignore_session_ids) | ({ignore_session_id} if ignore_session_id else set())
    rows = await _room_sessions([room_id], wanted.busy_from, wanted.busy_until)
    return [_clash(row) for row in rows if row["id"] not in ignored and _busy(row).overlaps(wanted)]


async def next_free_slot(
    room_id: int,
    starts_at: datetime,
    ends_at: datetime,
    setup_minutes: int = 0,
    cleardown_minutes: int = 0,
    ignore_session_id: int | None = None,
    *,
    ignore_session_ids: Iterable[int] = (),
    search_days: int = SEARCH_DAYS,
) -> datetime | None:
    """The earliest start, at or after ``starts_at``, when the room is free for a session this long; None within the search."""
    wanted = Busy(starts_at, ends_at, setup_minutes, cleardown_minutes)
    horizon = starts_at + timedelta(days=search_days)
    ignored = set(ignore_session_ids) | ({ignore_session_id} if ignore_session_id else set())
    rows = await _room_sessions([room_id], wanted.busy_from, horizon + (wanted.busy_until - wanted.starts_at))
    taken = sorted((_busy(row) for row in rows if row["id"] not in ignored), key=lambda busy: busy.busy_from)
    candidate = wanted
    for busy in taken:  # sweep forward: each overlap pushes the candidate to just after it
        if busy.overlaps(candidate):
            candidate = candidate.moved_to(busy.busy_until + timedelta(minutes=setup_minutes))
    if candidate.starts_at > horizon:
        return None
    return candidate.starts_at


async def free_rooms(
    venue_id: int,
    starts_at: datetime,
    ends_at: datetime,
    setup_minutes: int = 0,
    cleardown_minutes: int = 0,
    *,
    capacity: int = 1,
    exclude_room_id: int | None = None,
    ignore_session_ids: Iterable[int] = (),
) -> list[FreeRoom]:
    """The venue's other rooms, big enough and free at that time, smallest first."""
    query = Room.select(Room.id, Room.name, Room.capacity).where(
        (Room.venue == venue_id) & (Room.archived.eq(False)) & (Room.capacity >= capacity)
    )
    if exclude_room_id is not None:
        query = query.where(Room.id != exclude_room_id)
    rooms = await query.order_by(Room.capacity).order_by(Room.name)
    if not rooms:
        return []
    wanted = Busy(starts_at, ends_at, setup_minutes, cleardown_minutes)
    ignored = set(ignore_session_ids)
    rows = await _room_sessions([room["id"] for room in rooms], wanted.busy_from, wanted.busy_until)
    busy_rooms = {row["room"] for row in rows if row["id"] not in ignored and _busy(row).overlaps(wanted)}
    return [FreeRoom(room["id"], room["name"], room["capacity"]) for room in rooms if room["id"] not in busy_rooms]


async def room_clash(
    room_id: int,
    starts_at: datetime,
    ends_at: datetime,
    setup_minutes: int = 0,
    cleardown_minutes: int = 0,
    *,
    capacity: int = 1,
    ignore_session_ids: Iterable[int] = (),
) -> RoomClash | None:
    """The named error, with its suggestions, if the room is busy then; None if it is free."""
    ignored = tuple(ignore_session_ids)
    clashes = await find_clashes(
        room_id, starts_at, ends_at, setup_minutes, cleardown_minutes, ignore_session_ids=ignored
    )
    if not clashes:
        return None
    room = await Room.select(Room.venue, Room.venue.time_zone.as_alias("time_zone")).where(Room.id == room_id).first()
    next_free = await next_free_slot(
        room_id, starts_at, ends_at, setup_minutes, cleardown_minutes, ignore_session_ids=ignored
    )
    others = await free_rooms(
        room["venue"], starts_at, ends_at, setup_minutes, cleardown_minutes,
        capacity=capacity, exclude_room_id=room_id, ignore_session_ids=ignored,
    )
    message = clash_message(clashes, starts_at, next_free, others, room["time_zone"])
    return RoomClash(message, clashes=clashes, next_free_at=next_free, free_rooms=others)


async def ensure_room_free(
    room_id: int,
    starts_at: datetime,
    ends_at: datetime,
    setup_minutes: int = 0,
    cleardown_minutes: int = 0,
    *,
    capacity: int = 1,
    ignore_session_ids: Iterable[int] = (),
) -> None:
    """Raise ``RoomClash`` if the room is busy then. Call inside the write transaction that books the room."""
    clash = await room_clash(
        room_id, starts_at, ends_at, setup_minutes, cleardown_minutes,
        capacity=capacity, ignore_session_ids=ignore_session_ids,
    )
    if clash is not None:
        raise clash


def clash_message(
    clashes: list[Clash], starts_at: datetime, next_free: datetime | None, others: list[FreeRoom], time_zone: str
) -> str:
    """"Craft club is in Community room from 2pm to 4pm on Tuesday 3 March. The room is free from 4pm, or try Meeting room 2.\""""
    text = "; ".join(clash.describe() for clash in clashes) + "."
    text = text[0].upper() + text[1:]
    suggestions = []
    if next_free is not None:
        free_local, asked_local = to_local(next_free, time_zone), to_local(starts_at, time_zone)
        if free_local.date() == asked_local.date():
            suggestions.append(f"The room is free from {format_time(free_local)}")
        else:
            suggestions.append(f"The room is next free at {format_time(free_local)} on {format_date(free_local.date())}")
    if others:
        names = " or ".join(room.name for room in others[:2])
        suggestions.append(f"try {names}" if suggestions else f"Try {names}")
    if suggestions:
        text += " " + ", or ".join(suggestions) + "."
    return text


async def wait_for_room_writers(room_ids: Iterable[int]) -> None:
    """Wait until transactions still writing sessions in these rooms have ended (PostgreSQL).

    Scheduling and moving share-lock their room until they commit (``programme._load_room``), so a
    moment's exclusive lock on the same rows waits for them. After a deadlock on the exclusion
    constraint the other writer has not always committed yet; explaining the clash only after it has
    lets the message name the session that won.
    """
    ids = sorted(set(room_ids))
    if not ids or Room._meta.db.engine_type == "sqlite":
        return  # SQLite writers are serialised: nobody else is mid-write
    slots = ", ".join("{}" for _ in ids)
    async with Room._meta.db.transaction():
        await Room.raw(f"SELECT id FROM room WHERE id IN ({slots}) FOR UPDATE", *ids)


def is_room_clash_violation(error: BaseException) -> bool:
    """True for PostgreSQL's refusal of an overlapping session (the exclusion constraint, or a deadlock on it)."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    if isinstance(error, asyncpg.exceptions.DeadlockDetectedError):
        # Two writers each inserted (or moved) a session overlapping the other's and each waited on the
        # other's row in the exclusion constraint: PostgreSQL ends one of them with a deadlock instead of an
        # exclusion violation. The room and time writes are the only rows these transactions wait on.
        return True
    return (
        isinstance(error, asyncpg.exceptions.ExclusionViolationError)
        and getattr(error, "constraint_name", EXCLUSION_CONSTRAINT) == EXCLUSION_CONSTRAINT
    )


# --- Queries ------------------------------------------------------------------------------------


async def _room_sessions(room_ids: list[int], busy_from: datetime, busy_until: datetime) -> list[dict]:
    """Scheduled sessions in the rooms that could overlap ``busy_from``..``busy_until`` with any buffer."""
    margin = timedelta(minutes=MAX_BUFFER_MINUTES)
    return await Session.select(
        Session.id,
        Session.room,
        Session.starts_at,
        Session.ends_at,
        Session.setup_minutes,
        Session.cleardown_minutes,
        Session.activity.title.as_alias("activity_title"),
        Session.room.name.as_alias("room_name"),
        Session.room.venue.time_zone.as_alias("time_zone"),
    ).where(
        Session.room.is_in(room_ids)
        & (Session.status == SessionStatus.SCHEDULED.value)
        & (Session.starts_at < busy_until + margin)
        & (Session.ends_at > busy_from - margin)
    ).order_by(Session.starts_at)


def _busy(row: dict) -> Busy:
    return Busy(row["starts_at"], row["ends_at"], row["setup_minutes"] or 0, row["cleardown_minutes"] or 0)


def _clash(row: dict) -> Clash:
    return Clash(row["id"], row["activity_title"], row["room_name"], row["time_zone"], _busy(row))
