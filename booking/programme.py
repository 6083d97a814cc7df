"""Staff use cases that change the programme: schedule a session, move it, cancel it, change its capacity.

Each runs in one ``write_transaction`` with its outbox events. Lock order, as in ``waitlist.py``:
offer rows, then booking rows, then the session row, then waitlist entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from booking.errors import (
    ActivityNotFound,
    CapacityBelowTaken,
    CapacityExceedsRoom,
    InvalidCapacity,
    InvalidSessionTimes,
    RoomNotFound,
    SessionCancelled,
    SessionChangedMeanwhile,
    SessionNotFound,
    SessionStarted,
)
from booking.service import record_availability_changed
from booking.states import (
    ACTIVE_WAITLIST_STATUSES,
    BookingStatus,
    SessionStatus,
    WaitlistEntryStatus,
    WaitlistOfferStatus,
)
from booking.tables import Activity, Room, Session
from booking.waitlist import CUTOFF, iso_utc
from commons.db import write_transaction
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
) -> int:
    """Put a new session of an activity in a room; returns its id."""
    now = now or _utcnow()
    _check_times(starts_at, ends_at, now)
    _check_capacity_number(capacity)
    async with write_transaction(Session._meta.db):
        if not await Activity.exists().where((Activity.id == activity_id) & (Activity.archived.eq(False))):
            raise ActivityNotFound()
        room = await _load_room(room_id)
        _check_fits_room(capacity, room)
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
    return session.id


async def change_session(
    session_id: int,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    room_id: int | None = None,
    now: datetime | None = None,
) -> SessionChange:
    """Move a session to a new time or room. Its bookings and waiting list stay as they are.

    Given only ``starts_at``, the session keeps its length. The capacity must fit the new room. Open
    waiting-list offers are cut short so that none runs past the new start less ``CUTOFF``.

    Not checked yet: whether the room is free at the new time (room clashes come with the staff pages).
    """
    if starts_at is None and ends_at is None and room_id is None:
        raise ValueError("change_session needs a new start, end or room")
    now = now or _utcnow()
    async with write_transaction(Session._meta.db):
        current = await _load_changeable_session(session_id, now, "changed")
        new_starts_at = starts_at or current["starts_at"]
        new_ends_at = ends_at or current["ends_at"] + (new_starts_at - current["starts_at"])
        new_room_id = room_id or current["room"]
        change = SessionChange(
            session_id, new_starts_at, new_ends_at, new_room_id, current["starts_at"], current["ends_at"], current["room"]
        )
        if not change.changed:
            return change
        _check_times(new_starts_at, new_ends_at, now)
        if new_room_id != current["room"]:
            room = await _load_room(new_room_id)
            _check_fits_room(current["capacity"], room, moving=True)
        if new_starts_at < current["starts_at"]:
            await _shorten_open_offers(session_id, new_starts_at - CUTOFF)
        # Offers were locked first (the lock order); the guards catch a change made meanwhile.
        moved = await Session.raw(
            "UPDATE session SET starts_at = {}, ends_at = {}, room = {}, updated_at = {} "
            "WHERE id = {} AND status = {} AND starts_at = {} AND ends_at = {} AND room = {} "
            "AND capacity <= (SELECT capacity FROM room WHERE room.id = {}) RETURNING id",
            new_starts_at,
            new_ends_at,
            new_room_id,
            now,
            session_id,
            SessionStatus.SCHEDULED.value,
            current["starts_at"],
            current["ends_at"],
            current["room"],
            new_room_id,
        )
        if not moved:
            raise SessionChangedMeanwhile()
        await record_event(
            "session.changed",
            {
                "session_id": session_id,
                "starts_at": iso_utc(new_starts_at),
                "ends_at": iso_utc(new_ends_at),
                "room_id": new_room_id,
                "previous_starts_at": iso_utc(current["starts_at"]),
                "previous_ends_at": iso_utc(current["ends_at"]),
                "previous_room_id": current["room"],
            },
        )
    return change


async def cancel_session(session_id: int, message: str = "", now: datetime | None = None) -> SessionCancellation:
    """Cancel a session: end its bookings, close its offers and waiting list, and free every place.

    Records one ``session.cancelled`` listing the bookings and waiting-list entries it ended (so each
    resident is told once) and no ``booking.cancelled`` per booking.
    """
    now = now or _utcnow()
    message = message.strip()[:MESSAGE_LENGTH]
    async with write_transaction(Session._meta.db):
        await _load_changeable_session(session_id, now, "cancelled")
        # Offers and bookings first (the lock order), then the session. A second pass, under the
        # session's lock, catches any made in between; usually it finds none.
        offer_ids = await _close_open_offers(session_id, now)
        booking_ids = await _cancel_bookings(session_id, now)
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
    return SessionCancellation(session_id, sorted(booking_ids), sorted(entry_ids), sorted(offer_ids))


async def change_capacity(session_id: int, capacity: int, now: datetime | None = None) -> int:
    """Set a session's number of places; returns the places the public can book now.

    Never below the places booked and held, never above the room's capacity. The ``availability.changed``
    it records lets the capacity worker offer any new places to the waiting list.
    """
    now = now or _utcnow()
    _check_capacity_number(capacity)
    async with write_transaction(Session._meta.db):
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
        return await record_availability_changed(rows[0])


# --- Rules and steps ----------------------------------------------------------------------------


def _check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("session times must be timezone-aware")
    if ends_at <= starts_at:
        raise InvalidSessionTimes("A session must end after it starts.")
    if starts_at <= now:
        raise InvalidSessionTimes("A session must start in the future.")


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
    room = await Room.select(Room.name, Room.capacity).where((Room.id == room_id) & (Room.archived.eq(False))).first()
    if room is None:
        raise RoomNotFound()
    return room


async def _load_changeable_session(session_id: int, now: datetime, change: str) -> dict:
    session = await Session.select(
        Session.id, Session.starts_at, Session.ends_at, Session.room, Session.capacity, Session.status
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
