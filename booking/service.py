"""Booking use cases. The only code that changes places on a session.

Capacity is enforced by one conditional UPDATE in the same transaction as the booking row and its
outbox event, so a session can never be overbooked however many requests race for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from booking.errors import (
    AlreadyBooked,
    BookingAlreadyCancelled,
    BookingNotFound,
    InvalidPartySize,
    SessionCancelled,
    SessionFull,
    SessionNotFound,
    SessionStarted,
)
from booking.references import hash_token, new_manage_token, new_reference, token_matches
from booking.states import BookingSource, BookingStatus, SessionStatus
from booking.tables import Booking, Session
from booking.validation import ResidentDetails
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction
from events.outbox import record_event

REFERENCE_ATTEMPTS = 5


@dataclass(frozen=True)
class BookingConfirmation:
    booking_id: int
    reference: str
    manage_token: str  #: shown once; only its hash is stored
    session_id: int
    resident_id: int
    party_size: int
    status: BookingStatus
    places_left: int


@dataclass(frozen=True)
class Cancellation:
    booking_id: int
    reference: str
    session_id: int
    party_size: int
    places_left: int


@dataclass(frozen=True)
class PartySizeReduction:
    booking_id: int
    reference: str
    session_id: int
    party_size: int  #: the booking's new size
    places_freed: int
    places_left: int


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


async def book_place(
    session_id: int,
    resident: ResidentDetails,
    party_size: int,
    *,
    source: BookingSource = BookingSource.ONLINE,
    now: datetime | None = None,
) -> BookingConfirmation:
    """Book ``party_size`` places on a session for a resident, or raise a named ``BookingError``."""
    now = now or _utcnow()
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            return await _book_once(session_id, resident, party_size, source, now)
        except UNIQUE_VIOLATION_ERRORS as exc:
            if "reference" in str(exc):
                continue  # a one-in-a-billion reference collision: try a new one
            raise AlreadyBooked() from exc
    raise RuntimeError("could not allocate a unique booking reference")


async def _book_once(
    session_id: int, resident: ResidentDetails, party_size: int, source: BookingSource, now: datetime
) -> BookingConfirmation:
    db = Session._meta.db
    async with write_transaction(db):
        session = await _load_bookable_session(session_id, now)
        if not isinstance(party_size, int) or party_size < 1 or party_size > session["max_party_size"]:
            raise InvalidPartySize(
                f"You can book between 1 and {session['max_party_size']} places for this activity."
            )
        resident_id = await _upsert_resident(resident, now)
        existing = await Booking.exists().where(
            (Booking.session == session_id)
            & (Booking.resident == resident_id)
            & (Booking.status == BookingStatus.CONFIRMED.value)
        )
        if existing:
            raise AlreadyBooked()

        # The serialisation point: succeeds only while the places are there (places held by
        # waiting-list offers are not there for the public).
        rows = await Session.raw(
            "UPDATE session SET booked = booked + {} "
            "WHERE id = {} AND status = {} AND booked + held + {} <= capacity "
            "RETURNING id, booked, held, capacity",
            party_size,
            session_id,
            SessionStatus.SCHEDULED.value,
            party_size,
        )
        if not rows:
            raise SessionFull()
        places_left = await record_availability_changed(rows[0])

        token = new_manage_token()
        booking = Booking(
            reference=new_reference(),
            session=session_id,
            resident=resident_id,
            party_size=party_size,
            status=BookingStatus.CONFIRMED.value,
            source=source.value,
            manage_token_hash=hash_token(token),
            created_at=now,
        )
        await booking.save()
        await record_event(
            "booking.confirmed",
            {
                "booking_id": booking.id,
                "reference": booking.reference,
                "session_id": session_id,
                "resident_id": resident_id,
                "party_size": party_size,
                "places_left": places_left,
            },
        )
    return BookingConfirmation(
        booking_id=booking.id,
        reference=booking.reference,
        manage_token=token,
        session_id=session_id,
        resident_id=resident_id,
        party_size=party_size,
        status=BookingStatus.CONFIRMED,
        places_left=places_left,
    )


async def _load_bookable_session(session_id: int, now: datetime) -> dict:
    session = (
        await Session.select(
            Session.id,
            Session.status,
            Session.starts_at,
            Session.activity.max_party_size.as_alias("max_party_size"),
        )
        .where(Session.id == session_id)
        .first()
    )
    if session is None:
        raise SessionNotFound()
    if session["status"] == SessionStatus.CANCELLED.value:
        raise SessionCancelled()
    if session["starts_at"] <= now:
        raise SessionStarted()
    return session


async def _upsert_resident(resident: ResidentDetails, now: datetime) -> int:
    """Find the resident by e-mail or add them; a race between two first bookings cannot make two."""
    # Opting in to texts (with a number) records consent now; not ticking the box never withdraws it
    # (that is done through "reply STOP" or the resident's preferences).
    opt_in = bool(resident.sms_opt_in and resident.phone)
    rows = await Session.raw(
        "INSERT INTO resident (name, email, phone, contact_by_email, contact_by_sms, sms_consent_at, created_at) "
        "VALUES ({}, {}, {}, {}, {}, {}, {}) "
        "ON CONFLICT (email) WHERE email IS NOT NULL "
        "DO UPDATE SET name = excluded.name, phone = COALESCE(excluded.phone, resident.phone), "
        "contact_by_sms = resident.contact_by_sms OR excluded.contact_by_sms, "
        "sms_consent_at = COALESCE(excluded.sms_consent_at, resident.sms_consent_at), "
        "sms_opted_out_at = CASE WHEN excluded.contact_by_sms THEN NULL ELSE resident.sms_opted_out_at END "
        "RETURNING id",
        resident.name,
        resident.email.lower(),
        resident.phone,
        True,
        opt_in,
        now if opt_in else None,
        now,
    )
    return rows[0]["id"]


async def cancel_booking(
    reference: str,
    *,
    manage_token: str | None = None,
    reason: str = "",
    authorised: bool = False,
    now: datetime | None = None,
) -> Cancellation:
    """Cancel a booking and free its places.

    The caller proves the right to cancel with the booking's manage token, or passes
    ``authorised=True`` when it has already checked (for example a member of staff).
    """
    now = now or _utcnow()
    db = Booking._meta.db
    async with write_transaction(db):
        booking = (
            await Booking.select(
                Booking.id, Booking.status, Booking.session, Booking.party_size, Booking.manage_token_hash
            )
            .where(Booking.reference == reference)
            .first()
        )
        if booking is None or not (authorised or token_matches(manage_token or "", booking["manage_token_hash"])):
            raise BookingNotFound()  # the same answer for "no such booking" and "not yours"
        changed = await Booking.raw(
            "UPDATE booking SET status = {}, cancelled_at = {}, cancel_reason = {} "
            "WHERE id = {} AND status = {} RETURNING id",
            BookingStatus.CANCELLED.value,
            now,
            reason.strip()[:500],
            booking["id"],
            BookingStatus.CONFIRMED.value,
        )
        if not changed:
            raise BookingAlreadyCancelled()
        rows = await Session.raw(
            "UPDATE session SET booked = booked - {} WHERE id = {} RETURNING id, booked, held, capacity",
            booking["party_size"],
            booking["session"],
        )
        places_left = await record_availability_changed(rows[0])
        await record_event(
            "booking.cancelled",
            {
                "booking_id": booking["id"],
                "reference": reference,
                "session_id": booking["session"],
                "party_size": booking["party_size"],
                "places_left": places_left,
                "reason": reason.strip()[:500],
            },
        )
    return Cancellation(booking["id"], reference, booking["session"], booking["party_size"], places_left)


async def reduce_party_size(
    reference: str,
    new_size: int,
    *,
    manage_token: str | None = None,
    authorised: bool = False,
    now: datetime | None = None,
) -> PartySizeReduction:
    """Give back some of a booking's places; the resident keeps the rest.

    The same proof as ``cancel_booking``. The freed places return to the session in one UPDATE, and
    ``availability.changed`` lets the capacity worker offer them to the waiting list.
    """
    now = now or _utcnow()
    async with write_transaction(Booking._meta.db):
        booking = (
            await Booking.select(Booking.id, Booking.session, Booking.manage_token_hash)
            .where(Booking.reference == reference)
            .first()
        )
        if booking is None or not (authorised or token_matches(manage_token or "", booking["manage_token_hash"])):
            raise BookingNotFound()  # the same answer for "no such booking" and "not yours"
        # A no-op UPDATE takes the booking's row lock, so the size checked is the size changed.
        locked = await Booking.raw(
            "UPDATE booking SET party_size = party_size WHERE id = {} AND status = {} RETURNING party_size",
            booking["id"],
            BookingStatus.CONFIRMED.value,
        )
        if not locked:
            raise BookingAlreadyCancelled()
        current = locked[0]["party_size"]
        _check_smaller_party(new_size, current)
        starts_at = (await Session.select(Session.starts_at).where(Session.id == booking["session"]).first())["starts_at"]
        if starts_at <= now:
            raise SessionStarted("This session has already started, so its bookings can no longer be changed.")
        await Booking.update({Booking.party_size: new_size}).where(Booking.id == booking["id"])
        rows = await Session.raw(
            "UPDATE session SET booked = booked - {} WHERE id = {} RETURNING id, booked, held, capacity, status",
            current - new_size,
            booking["session"],
        )
        places_left = await record_availability_changed(rows[0])
    return PartySizeReduction(booking["id"], reference, booking["session"], new_size, current - new_size, places_left)


def _check_smaller_party(new_size: int, current: int) -> None:
    if current == 1:
        raise InvalidPartySize("This booking is for one place, so it cannot be made smaller. Cancel it instead.")
    if isinstance(new_size, bool) or not isinstance(new_size, int) or not 1 <= new_size < current:
        most = "1 place" if current == 2 else f"between 1 and {current - 1} places"
        raise InvalidPartySize(f"This booking is for {current} places. You can reduce it to {most}.")


async def record_availability_changed(session: dict) -> int:
    """Record ``availability.changed`` from a session row just updated; returns the places the public can book.

    Call in the transaction that changed ``booked``, ``held`` or ``capacity``, with the row its UPDATE
    returned. A cancelled session (the row has ``status``) has no places left.
    """
    places_left = max(session["capacity"] - session["booked"] - session["held"], 0)
    if session.get("status") == SessionStatus.CANCELLED.value:
        places_left = 0
    await record_event(
        "availability.changed",
        {
            "session_id": session["id"],
            "capacity": session["capacity"],
            "booked": session["booked"],
            "places_left": places_left,
        },
    )
    return places_left


async def max_party_size_for(session_id: int) -> int:
    row = (
        await Session.select(Session.activity.max_party_size.as_alias("max_party_size"))
        .where(Session.id == session_id)
        .first()
    )
    if row is None:
        raise SessionNotFound()
    return row["max_party_size"]

