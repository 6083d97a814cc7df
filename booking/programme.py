"""Staff use cases that change the programme: schedule a session, move it, cancel it, change its capacity.

Each runs in one ``write_transaction`` with its outbox events. Lock order, as in ``waitlist.py``:
offer rows, then booking rows, then the session row, then waitlist entries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from booking.audit import changed_fields, record_audit
from booking.clashes import (
    MAX_BUFFER_MINUTES,
    ensure_room_free,
    is_room_clash_violation,
    room_clash,
    wait_for_room_writers,
)
from booking.errors import (
    ActivityNotFound,
    CapacityBelowTaken,
    CapacityExceedsRoom,
    InvalidCapacity,
    InvalidSessionTimes,
    RoomClash,
    RoomNotFound,
    SessionCancelled,
    SessionChangedMeanwhile,
    SessionNotFound,
    SessionStarted,
)
from booking.referrals import cancel_session_holds
from booking.service import record_availability_changed
from booking.staff import StaffUser
from booking.states import (
    ACTIVE_WAITLIST_STATUSES,
    BookingStatus,
    SessionStatus,
    WaitlistEntryStatus,
    WaitlistOfferStatus,
)
from booking.tables import Activity, Room, Session
from booking.timefmt import format_when
from booking.waitlist import CUTOFF, iso_utc
from commons.db import is_sqlite, write_transaction
from events.outbox import record_event

SESSION_CANCELLED_REASON = "Session cancelled"  #: ``cancel_reason`` of the bookings a cancellation ends
MESSAGE_LENGTH = 2000  #: the most of staff's message to residents that is kept


@dataclass(frozen=True)
class SessionChange:
    session_id: int
    starts_at: datetime
    ends_at: datetime
    room_id: int
    previous_starts_at: datetime
    previous_ends_at: datetime
    previous_room_id: int

    @property
    def changed(self) -> bool:
        return (self.starts_at, self.ends_at, self.room_id) != (
            self.previous_starts_at,
            self.previous_ends_at,
            self.previous_room_id,
        )


@dataclass(frozen=True)
class SessionCancellation:
    session_id: int
    booking_ids: list[int]  #: the confirmed bookings the cancellation ended
    waitlist_entry_ids: list[int]  #: the people who were waiting, or holding an offer
    offer_ids: list[int]  #: the open offers it closed (their held places released)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def schedule_session(
    activity_id: int,
    room_id: int,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    now: datetime | None = None,
    *,
    setup_minutes: int = 0,
    cleardown_minutes: int = 0,
    series_id: int | None = None,
    actor: StaffUser | None = None,
) -> int:
    """Put a new session of an activity in a room that is free then; returns its id.

    Raises ``RoomClash`` (naming the clash, with the next free time and other free rooms) if the room
    is busy, buffers included: checked here, and on PostgreSQL by the exclusion constraint as well.
    """
    now = now or _utcnow()
    _check_times(starts_at, ends_at, now)
    _check_capacity_number(capacity)
    check_buffers(setup_minutes, cleardown_minutes)
    async with translating_room_clash(room_id, starts_at, ends_at, setup_minutes, cleardown_minutes, capacity):
        async with write_transaction(Session._meta.db):
            return await _insert_session(
                activity_id, room_id, starts_at, ends_at, capacity, now,
                setup_minutes=setup_minutes, cleardown_minutes=cleardown_minutes, series_id=series_id, actor=actor,
            )


async def _insert_session(
    activity_id: int,
    room_id: int,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    now: datetime,
    *,
    setup_minutes: int,
    cleardown_minutes: int,
    series_id: int | None,
    actor: StaffUser | None,
    check_room: bool = True,
) -> int:
    """The body of ``schedule_session``, inside the caller's write transaction."""
    activity = await Activity.select(Activity.title).where(
        (Activity.id == activity_id) & (Activity.archived.eq(False))
    ).first()
    if activity is None:
        raise ActivityNotFound()
    room = await _load_room(room_id)
    _check_fits_room(capacity, room)
    if check_room:
        await ensure_room_free(room_id, starts_at, ends_at, setup_minutes, cleardown_minutes, capacity=capacity)
    session = Session(
        activity=activity_id,
        room=room_id,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        booked=0,
        held=0,
        status=SessionStatus.SCHEDULED.value,
        created_at=now,
        updated_at=now,
        series=series_id,
        setup_minutes=setup_minutes,
        cleardown_minutes=cleardown_minutes,
    )
    await session.save()
    await record_event(
        "session.scheduled",
        {
            "session_id": session.id,
            "activity_id": activity_id,
            "room_id": room_id,
            "starts_at": iso_utc(starts_at),
            "ends_at": iso_utc(ends_at),
            "capacity": capacity,
        },
    )
    if actor is not None and series_id is None:  # a series records one entry for all its sessions
        await record_audit(
            actor, "session.scheduled", "session", session.id, venue_id=room["venue"], now=now,
            summary=f"Scheduled {activity['title']} in {room['name']}, "
            f"{format_when(starts_at, ends_at, room['time_zone'])}.",
            after={"activity_id": activity_id, "room_id": room_id, "starts_at": starts_at, "ends_at": ends_at,
                   "capacity": capacity, "setup_minutes": setup_minutes, "cleardown_minutes": cleardown_minutes},
        )
    return session.id


async def change_session(
    session_id: int,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    room_id: int | None = None,
    setup_minutes: int | None = None,
    cleardown_minutes: int | None = None,
    now: datetime | None = None,
    actor: StaffUser | None = None,
) -> SessionChange:
    """Move a session to a new time or room. Its bookings and waiting list stay as they are.

    Given only ``starts_at``, the session keeps its length. The capacity must fit the new room, and
    the room must be free then (``RoomClash`` otherwise). Open waiting-list offers are cut short so
    that none runs past the new start less ``CUTOFF``. One ``session.changed`` tells each attendee once.
    """
    if starts_at is None and ends_at is None and room_id is None and setup_minutes is None and cleardown_minutes is None:
        raise ValueError("change_session needs a new start, end, room or buffer")
    now = now or _utcnow()
    wanted: list[SessionMove] = []
    async with _explaining_clash(lambda: _clash_for_moves(wanted)):
        async with write_transaction(Session._meta.db):
            current = await _load_changeable_session(session_id, now, "changed")
            new_starts_at = starts_at or current["starts_at"]
            move = SessionMove(
                session_id,
                new_starts_at,
                ends_at or current["ends_at"] + (new_starts_at - current["starts_at"]),
                room_id or current["room"],
                current["setup_minutes"] if setup_minutes is None else setup_minutes,
                current["cleardown_minutes"] if cleardown_minutes is None else cleardown_minutes,
            )
            wanted.append(move)
            return await _move_session(current, move, now, actor=actor)


@dataclass(frozen=True)
class SessionMove:
    """Where and when a session is to be: the arguments of one move."""

    session_id: int
    starts_at: datetime
    ends_at: datetime
    room_id: int
    setup_minutes: int
    cleardown_minutes: int
    capacity: int = 1  #: only for suggesting rooms big enough


async def _move_session(
    current: dict, move: SessionMove, now: datetime, *, actor: StaffUser | None, check_room: bool = True,
    ignore_session_ids: tuple[int, ...] = (),
) -> SessionChange:
    """The body of ``change_session``, inside the caller's write transaction; ``current`` is the session row."""
    session_id = current["id"]
    change = SessionChange(
        session_id, move.starts_at, move.ends_at, move.room_id, current["starts_at"], current["ends_at"], current["room"]
    )
    buffers_changed = (move.setup_minutes, move.cleardown_minutes) != (
        current["setup_minutes"], current["cleardown_minutes"]
    )
    if not change.changed and not buffers_changed:
        return change
    _check_times(move.starts_at, move.ends_at, now)
    check_buffers(move.setup_minutes, move.cleardown_minutes)
    room = await _load_room(move.room_id)
    if move.room_id != current["room"]:
        _check_fits_room(current["capacity"], room, moving=True)
    if check_room:
        await ensure_room_free(
            move.room_id, move.starts_at, move.ends_at, move.setup_minutes, move.cleardown_minutes,
            capacity=current["capacity"], ignore_session_ids=(session_id, *ignore_session_ids),
        )
    if move.starts_at < current["starts_at"]:
        await _shorten_open_offers(session_id, move.starts_at - CUTOFF)
    # Offers were locked first (the lock order); the guards catch a change made meanwhile.
    moved = await Session.raw(
        "UPDATE session SET starts_at = {}, ends_at = {}, room = {}, setup_minutes = {}, cleardown_minutes = {}, "
        "updated_at = {} "
        "WHERE id = {} AND status = {} AND starts_at = {} AND ends_at = {} AND room = {} "
        "AND capacity <= (SELECT capacity FROM room WHERE room.id = {}) RETURNING id",
        move.starts_at,
        move.ends_at,
        move.room_id,
        move.setup_minutes,
        move.cleardown_minutes,
        now,
        session_id,
        SessionStatus.SCHEDULED.value,
        current["starts_at"],
        current["ends_at"],
        current["room"],
        move.room_id,
    )
    if not moved:
        raise SessionChangedMeanwhile()
    if change.changed:  # buffers alone are staff's business: attendees are not told
        await record_event(
            "session.changed",
            {
                "session_id": session_id,
                "starts_at": iso_utc(move.starts_at),
                "ends_at": iso_utc(move.ends_at),
                "room_id": move.room_id,
                "previous_starts_at": iso_utc(current["starts_at"]),
                "previous_ends_at": iso_utc(current["ends_at"]),
                "previous_room_id": current["room"],
            },
        )
    if actor is not None:
        before, after = changed_fields(
            {key: current[key] for key in ("starts_at", "ends_at", "room", "setup_minutes", "cleardown_minutes")},
            {"starts_at": move.starts_at, "ends_at": move.ends_at, "room": move.room_id,
             "setup_minutes": move.setup_minutes, "cleardown_minutes": move.cleardown_minutes},
        )
        await record_audit(
            actor, "session.changed", "session", session_id, venue_id=room["venue"], now=now,
            summary=f"Moved {current['activity_title']} to {room['name']}, "
            f"{format_when(move.starts_at, move.ends_at, room['time_zone'])}.",
            before=before, after=after,
        )
    return change


async def cancel_session(
    session_id: int, message: str = "", now: datetime | None = None, *, actor: StaffUser | None = None
) -> SessionCancellation:
    """Cancel a session: end its bookings, close its offers, referral holds and waiting list, free every place.

    Records one ``session.cancelled`` listing the bookings and waiting-list entries it ended (so each
    resident is told once) and no ``booking.cancelled`` per booking.
    """
    now = now or _utcnow()
    message = message.strip()[:MESSAGE_LENGTH]
    async with write_transaction(Session._meta.db):
        current = await _load_changeable_session(session_id, now, "cancelled")
        # Offers and bookings first (the lock order), then the session. A second pass, under the
        # session's lock, catches any made in between; usually it finds none.
        offer_ids = await _close_open_offers(session_id, now)
        booking_ids = await _cancel_bookings(session_id, now)
        await cancel_session_holds(session_id, now)  # referrals holding places; their held goes with held = 0
        rows = await Session.raw(
            "UPDATE session SET status = {}, booked = 0, held = 0, updated_at = {} WHERE id = {} AND status = {} "
            "RETURNING id, capacity, booked, held, status",
            SessionStatus.CANCELLED.value,
            now,
            session_id,
            SessionStatus.SCHEDULED.value,
        )
        if not rows:
            raise SessionCancelled("This session has already been cancelled.")
        offer_ids += await _close_open_offers(session_id, now)
        booking_ids += await _cancel_bookings(session_id, now)
        await cancel_session_holds(session_id, now)
        entry_ids = await _remove_waitlist_entries(session_id)
        await record_event(
            "session.cancelled",
            {
                "session_id": session_id,
                "message": message,
                "booking_ids": sorted(booking_ids),
                "waitlist_entry_ids": sorted(entry_ids),
            },
        )
        await record_availability_changed(rows[0])
        if actor is not None:
            await record_audit(
                actor, "session.cancelled", "session", session_id, venue_id=current["venue"], now=now,
                summary=f"Cancelled {current['activity_title']}, "
                f"{format_when(current['starts_at'], current['ends_at'], current['time_zone'])}: "
                f"{len(booking_ids)} bookings ended.",
                before={"status": SessionStatus.SCHEDULED}, after={"status": SessionStatus.CANCELLED, "message": message},
            )
    return SessionCancellation(session_id, sorted(booking_ids), sorted(entry_ids), sorted(offer_ids))


async def change_capacity(
    session_id: int, capacity: int, now: datetime | None = None, *, actor: StaffUser | None = None
) -> int:
    """Set a session's number of places; returns the places the public can book now.

    Never below the places booked and held, never above the room's capacity. The ``availability.changed``
    it records lets the capacity worker offer any new places to the waiting list.
    """
    now = now or _utcnow()
    _check_capacity_number(capacity)
    async with write_transaction(Session._meta.db):
        before = await Session.select(Session.capacity, Session.room).where(Session.id == session_id).first()
        if before is not None:
            await _share_lock_room(before["room"])  # the room's capacity cannot change under this check
        rows = await Session.raw(
            "UPDATE session SET capacity = {}, updated_at = {} "
            "WHERE id = {} AND status = {} AND starts_at > {} AND booked + held <= {} "
            "AND {} <= (SELECT capacity FROM room WHERE room.id = session.room) "
            "RETURNING id, capacity, booked, held, status",
            capacity,
            now,
            session_id,
            SessionStatus.SCHEDULED.value,
            now,
            capacity,
            capacity,
        )
        if not rows:
            raise await _why_capacity_refused(session_id, capacity, now)
        if actor is not None and before["capacity"] != capacity:
            current = await _load_changeable_session(session_id, now, "changed")
            await record_audit(
                actor, "session.capacity_changed", "session", session_id, venue_id=current["venue"], now=now,
                summary=f"Changed the places on {current['activity_title']}, "
                f"{format_when(current['starts_at'], current['ends_at'], current['time_zone'])}, "
                f"from {before['capacity']} to {capacity}.",
                before={"capacity": before["capacity"]}, after={"capacity": capacity},
            )
        return await record_availability_changed(rows[0])


# --- Rules and steps ----------------------------------------------------------------------------


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("session times must be timezone-aware")
    if ends_at <= starts_at:
        raise InvalidSessionTimes("A session must end after it starts.")
    if starts_at <= now:
        raise InvalidSessionTimes("A session must start in the future.")


def check_buffers(setup_minutes: int, cleardown_minutes: int) -> None:
    for minutes in (setup_minutes, cleardown_minutes):
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= MAX_BUFFER_MINUTES:
            raise InvalidSessionTimes(
                f"Set-up and clear-down times must be between 0 and {MAX_BUFFER_MINUTES} minutes."
            )


@asynccontextmanager
async def _explaining_clash(explain) -> AsyncIterator[None]:
    """PostgreSQL's exclusion constraint refused a write (a race the check could not see): say which clash.

    ``explain`` runs after the rollback, in a fresh read, and returns the error to raise.
    """
    try:
        yield
    except Exception as error:
        if not is_room_clash_violation(error):
            raise
        raise await explain() from error


def translating_room_clash(room_id, starts_at, ends_at, setup_minutes, cleardown_minutes, capacity=1):
    """``_explaining_clash`` for one new session at a known place and time."""
    move = SessionMove(0, starts_at, ends_at, room_id, setup_minutes, cleardown_minutes, capacity)
    return _explaining_clash(lambda: _clash_for_moves([move]))


async def _clash_for_moves(moves: list[SessionMove]) -> Exception:
    """Only after a refused write (``_explaining_clash``), outside its transaction."""
    await wait_for_room_writers(move.room_id for move in moves)
    ignored = tuple(move.session_id for move in moves if move.session_id)
    for move in moves:
        clash = await room_clash(
            move.room_id, move.starts_at, move.ends_at, move.setup_minutes, move.cleardown_minutes,
            capacity=move.capacity, ignore_session_ids=ignored,
        )
        if clash is not None:
            return clash
    return RoomClash()  # the other session has gone again meanwhile: the generic message


def _check_capacity_number(capacity: int) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise InvalidCapacity()


def _check_fits_room(capacity: int, room: dict, *, moving: bool = False) -> None:
    if capacity <= room["capacity"]:
        return
    if moving:
        raise CapacityExceedsRoom(
            f"{room['name']} holds {room['capacity']} people but the session has {capacity} places. "
            "Lower the session's capacity first."
        )
    raise CapacityExceedsRoom(
        f"{room['name']} holds {room['capacity']} people, so the session cannot have more than "
        f"{room['capacity']} places."
    )


async def _load_room(room_id: int) -> dict:
    """A room sessions can go in (it and its venue not archived), share-locked until the transaction ends.

    On PostgreSQL the lock makes a concurrent change to the room (a lower capacity, archiving it:
    ``booking/venues_admin.py`` updates the row first) wait for this transaction, or this one wait
    for it and then read the new values; SQLite has one writer at a time anyway.
    """
    await _share_lock_room(room_id)
    room = await Room.select(
        Room.name, Room.capacity, Room.venue, Room.venue.time_zone.as_alias("time_zone")
    ).where((Room.id == room_id) & (Room.archived.eq(False)) & (Room.venue.archived.eq(False))).first()
    if room is None:
        raise RoomNotFound()
    return room


async def _share_lock_room(room_id: int) -> None:
    if not is_sqlite(Room._meta.db):
        await Room.raw("SELECT id FROM room WHERE id = {} FOR SHARE", room_id)


async def _load_changeable_session(session_id: int, now: datetime, change: str) -> dict:
    session = await Session.select(
        Session.id, Session.starts_at, Session.ends_at, Session.room, Session.capacity, Session.status,
        Session.setup_minutes, Session.cleardown_minutes, Session.series, Session.activity,
        Session.activity.title.as_alias("activity_title"), Session.room.venue.as_alias("venue"),
        Session.room.venue.time_zone.as_alias("time_zone"),
    ).where(Session.id == session_id).first()
    if session is None:
        raise SessionNotFound()
    if session["status"] == SessionStatus.CANCELLED.value:
        if change == "cancelled":
            raise SessionCancelled("This session has already been cancelled.")
        raise SessionCancelled(f"This session has been cancelled, so it cannot be {change}.")
    if session["starts_at"] <= now:
        raise SessionStarted(f"This session has already started, so it can no longer be {change}.")
    return session


async def _why_capacity_refused(session_id: int, capacity: int, now: datetime) -> Exception:
    """The named error for a capacity change the conditional UPDATE refused (raises it if it is about the session)."""
    await _load_changeable_session(session_id, now, "changed")
    places = await Session.select(
        Session.booked, Session.held, Session.room.name.as_alias("room_name"),
        Session.room.capacity.as_alias("room_capacity"),
    ).where(Session.id == session_id).first()
    taken = places["booked"] + places["held"]
    if capacity < taken:
        held = f" and {places['held']} held for waiting-list offers" if places["held"] else ""
        return CapacityBelowTaken(
            f"{places['booked']} places are booked{held}, so the capacity cannot be less than {taken}."
        )
    if capacity > places["room_capacity"]:
        return CapacityExceedsRoom(
            f"{places['room_name']} holds {places['room_capacity']} people, so the session cannot have more "
            f"than {places['room_capacity']} places."
        )
    return SessionChangedMeanwhile()  # the places changed again since the UPDATE: try again


async def _shorten_open_offers(session_id: int, latest: datetime) -> None:
    """No open offer may run past ``latest``; one cut to the past is expired by the next sweep."""
    await Session.raw(
        "UPDATE waitlist_offer SET expires_at = {} WHERE session = {} AND status = {} AND expires_at > {}",
        latest,
        session_id,
        WaitlistOfferStatus.OPEN.value,
        latest,
    )


async def _close_open_offers(session_id: int, now: datetime) -> list[int]:
    """Close the session's open offers (as expired: the resident can no longer take them)."""
    rows = await Session.raw(
        "UPDATE waitlist_offer SET status = {}, decided_at = {} WHERE session = {} AND status = {} RETURNING id",
        WaitlistOfferStatus.EXPIRED.value,
        now,
        session_id,
        WaitlistOfferStatus.OPEN.value,
    )
    return [row["id"] for row in rows]


async def _cancel_bookings(session_id: int, now: datetime) -> list[int]:
    rows = await Session.raw(
        "UPDATE booking SET status = {}, cancelled_at = {}, cancel_reason = {} "
        "WHERE session = {} AND status = {} RETURNING id",
        BookingStatus.CANCELLED.value,
        now,
        SESSION_CANCELLED_REASON,
        session_id,
        BookingStatus.CONFIRMED.value,
    )
    return [row["id"] for row in rows]


async def _remove_waitlist_entries(session_id: int) -> list[int]:
    rows = await Session.raw(
        "UPDATE waitlist_entry SET status = {} WHERE session = {} AND status IN ({}, {}) RETURNING id",
        WaitlistEntryStatus.REMOVED.value,
        session_id,
        *ACTIVE_WAITLIST_STATUSES,
    )
    return [row["id"] for row in rows]


async def edit_session(
    session_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    room_id: int,
    capacity: int,
    setup_minutes: int,
    cleardown_minutes: int,
    actor: StaffUser | None = None,
    now: datetime | None = None,
) -> None:
    """The staff edit form for one session: time, room, buffers and places together, all or nothing."""
    now = now or _utcnow()
    _check_capacity_number(capacity)
    move = SessionMove(session_id, starts_at, ends_at, room_id, setup_minutes, cleardown_minutes, capacity)
    async with _explaining_clash(lambda: _clash_for_moves([move])):
        async with write_transaction(Session._meta.db):
            current = await _load_changeable_session(session_id, now, "changed")
            if capacity > current["capacity"]:  # more places: into the (maybe bigger) room first
                await _move_session(current, move, now, actor=actor)
                await change_capacity(session_id, capacity, now, actor=actor)
            elif capacity < current["capacity"]:  # fewer: lower them first, so they fit a smaller room
                await change_capacity(session_id, capacity, now, actor=actor)
                await _move_session({**current, "capacity": capacity}, move, now, actor=actor)
            else:
                await _move_session(current, move, now, actor=actor)
