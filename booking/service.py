"""Booking use cases. The only code that changes places on a session.

Capacity is enforced by one conditional UPDATE in the same transaction as the booking row and its
outbox event, so a session can never be overbooked however many requests race for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from booking.errors import (
    AlreadyBooked,
    BookingAlreadyCancelled,
    BookingError,
    BookingNotFound,
    IdempotencyKeyReused,
    InvalidPartySize,
    SessionCancelled,
    SessionFull,
    SessionNotFound,
    SessionStarted,
)
from booking.references import hash_token, new_manage_token, new_reference, token_matches
from booking.rules import check_active_bookings, check_booking_window, check_party_size
from booking.states import BookingSource, BookingStatus, SessionStatus
from booking.tables import Booking, Session
from booking.validation import MAX_SUPPORT_NOTE, ResidentDetails
from commons.compiled import Bind, compiled
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction
from events.outbox import record_event

REFERENCE_ATTEMPTS = 5


@dataclass(frozen=True)
class BookingConfirmation:
    booking_id: int
    reference: str
    manage_token: str  #: shown once; only its hash is stored ("" when ``repeated``: it cannot be shown again)
    session_id: int
    resident_id: int
    party_size: int
    status: BookingStatus
    places_left: int
    #: the same idempotency key came again: this is the booking it made the first time, nothing new happened
    repeated: bool = False
    manage_token_hash: str = ""  #: for signing a manage link (booking/manage_links.py)


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


#: Bookings the resident makes themselves follow the activity's rules; staff (phone, in person) may overrule
#: the booking window and the active-bookings limit, and waiting-list bookings were promised earlier.
RULED_SOURCES = frozenset({BookingSource.ONLINE, BookingSource.API})


def hash_idempotency_key(key: str) -> str:
    return hashlib.sha256(f"idempotency:{key}".encode()).hexdigest()


async def take_places(session_id: int, party_size: int) -> list[dict]:
    """The serialisation point of every new booking, inside the caller's transaction.

    One conditional UPDATE: it succeeds only while the places are there (places held by waiting-list
    offers are not there for anyone else). Returns the session's new counts, or [] when they are not.
    """
    return await Session.raw(
        "UPDATE session SET booked = booked + {} "
        "WHERE id = {} AND status = {} AND booked + held + {} <= capacity "
        "RETURNING id, booked, held, capacity",
        party_size,
        session_id,
        SessionStatus.SCHEDULED.value,
        party_size,
    )


async def book_place(
    session_id: int,
    resident: ResidentDetails,
    party_size: int,
    *,
    source: BookingSource = BookingSource.ONLINE,
    now: datetime | None = None,
    support_note: str = "",
    idempotency_key: str | None = None,
) -> BookingConfirmation:
    """Book ``party_size`` places on a session for a resident, or raise a named ``BookingError``.

    With an ``idempotency_key``, a repeat of the same request (a double click, a retry, the back button,
    two requests at once) returns the booking the first one made, with ``repeated=True``, and changes
    nothing; the same key for another session raises ``IdempotencyKeyReused``.
    """
    now = now or _utcnow()
    key_hash = hash_idempotency_key(idempotency_key) if idempotency_key else None
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            return await _book_once(session_id, resident, party_size, source, now, support_note, key_hash)
        except UNIQUE_VIOLATION_ERRORS as exc:
            if "reference" in str(exc):
                continue  # a one-in-a-billion reference collision: try a new one
            if key_hash is not None:
                # Another request with the same key won the race: answer with its booking.
                repeat = await _repeat_of(key_hash, session_id)
                if repeat is not None:
                    return repeat
            raise AlreadyBooked() from exc
        except BookingError:
            # A request with the same key may have committed while this one waited for a lock (it then
            # sees "already booked" or "full"): the resident gets the booking they made, not an error.
            if key_hash is not None and (repeat := await _repeat_of(key_hash, session_id)) is not None:
                return repeat
            raise
    raise RuntimeError("could not allocate a unique booking reference")


async def _repeat_of(key_hash: str, session_id: int) -> BookingConfirmation | None:
    """The booking an idempotency key already made, or None; the key for another session is an error."""
    query = compiled(
        Booking,
        "booking_by_idempotency_key",
        lambda: Booking.select(
            Booking.id,
            Booking.reference,
            Booking.session,
            Booking.resident,
            Booking.party_size,
            Booking.status,
            Booking.manage_token_hash,
            Booking.session.capacity.as_alias("capacity"),
            Booking.session.booked.as_alias("booked"),
            Booking.session.held.as_alias("held"),
        ).where(Booking.idempotency_key_hash == Bind("key")),
    )
    row = await query.first({"key": key_hash})
    if row is None:
        return None
    if row["session"] != session_id:
        raise IdempotencyKeyReused()
    return BookingConfirmation(
        booking_id=row["id"],
        reference=row["reference"],
        manage_token="",
        session_id=session_id,
        resident_id=row["resident"],
        party_size=row["party_size"],
        status=BookingStatus(row["status"]),
        places_left=max(row["capacity"] - row["booked"] - row["held"], 0),
        repeated=True,
        manage_token_hash=row["manage_token_hash"],
    )


async def _book_once(
    session_id: int,
    resident: ResidentDetails,
    party_size: int,
    source: BookingSource,
    now: datetime,
    support_note: str,
    key_hash: str | None,
) -> BookingConfirmation:
    db = Session._meta.db
    async with write_transaction(db):
        if key_hash is not None:
            repeat = await _repeat_of(key_hash, session_id)
            if repeat is not None:
                return repeat
        ruled = source in RULED_SOURCES
        session = await _load_bookable_session(session_id, now, check_window=ruled)
        check_party_size(party_size, session["max_party_size"])
        resident_id = await upsert_resident(resident, now)
        existing = await Booking.exists().where(
            (Booking.session == session_id)
            & (Booking.resident == resident_id)
            & (Booking.status == BookingStatus.CONFIRMED.value)
        )
        if existing:
            raise AlreadyBooked()
        if ruled and session["max_active_bookings"] > 0:
            active = await _active_bookings(resident_id, session["activity"], now)
            check_active_bookings(active, session["max_active_bookings"], session["activity_title"])

        rows = await take_places(session_id, party_size)
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
            support_note=(support_note or "").strip()[:MAX_SUPPORT_NOTE],
            idempotency_key_hash=key_hash,
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
        manage_token_hash=booking.manage_token_hash,
    )


async def _active_bookings(resident_id: int, activity_id: int, now: datetime) -> int:
    """Upcoming confirmed bookings a resident holds for sessions of one activity."""
    return await Booking.count().where(
        (Booking.resident == resident_id)
        & (Booking.status == BookingStatus.CONFIRMED.value)
        & (Booking.session.activity == activity_id)
        & (Booking.session.starts_at > now)
    )


async def _load_bookable_session(session_id: int, now: datetime, *, check_window: bool = False) -> dict:
    """The session's row for a booking or a place in its queue; raises if it cannot be booked now.

    ``check_window``: also the activity's booking window (opens N days before, closes M hours before).
    """
    query = compiled(
        Session,
        "bookable_session",
        lambda: Session.select(
            Session.id,
            Session.status,
            Session.starts_at,
            Session.activity.id.as_alias("activity"),
            Session.activity.title.as_alias("activity_title"),
            Session.activity.max_party_size.as_alias("max_party_size"),
            Session.activity.booking_opens_days.as_alias("booking_opens_days"),
            Session.activity.booking_closes_hours.as_alias("booking_closes_hours"),
            Session.activity.max_active_bookings.as_alias("max_active_bookings"),
            Session.room.venue.time_zone.as_alias("time_zone"),
            Session.room.venue.phone.as_alias("venue_phone"),
        ).where(Session.id == Bind("id")),
    )
    session = await query.first({"id": session_id})
    if session is None:
        raise SessionNotFound()
    if session["status"] == SessionStatus.CANCELLED.value:
        raise SessionCancelled()
    if session["starts_at"] <= now:
        raise SessionStarted()
    if check_window:
        check_booking_window(
            session["starts_at"],
            now,
            opens_days=session["booking_opens_days"],
            closes_hours=session["booking_closes_hours"],
            time_zone=session["time_zone"],
            venue_phone=session["venue_phone"] or "",
        )
    return session


async def upsert_resident(resident: ResidentDetails, now: datetime) -> int:
    """Find the resident by e-mail (or, with no e-mail, by mobile) or add them; a race between two first
    bookings cannot make two (partial unique indexes ``resident_email_unique``, ``resident_phone_without_email``)."""
    # Opting in to texts (with a number) records consent now; not ticking the box never withdraws it
    # (that is done through "reply STOP" or the resident's preferences).
    opt_in = bool(resident.sms_opt_in and resident.phone)
    email = (resident.email or "").strip().lower() or None
    by_email = bool(email and resident.contact_by_email)
    conflict = "(email) WHERE email IS NOT NULL" if email else "(phone) WHERE email IS NULL AND phone IS NOT NULL"
    if email is None and not resident.phone:
        raise ValueError("a resident needs an e-mail address or a mobile number")
    rows = await Session.raw(
        "INSERT INTO resident (name, email, phone, contact_by_email, contact_by_sms, sms_consent_at, created_at) "
        "VALUES ({}, {}, {}, {}, {}, {}, {}) "
        f"ON CONFLICT {conflict} "
        "DO UPDATE SET name = excluded.name, phone = COALESCE(excluded.phone, resident.phone), "
        "contact_by_email = excluded.contact_by_email, "
        "contact_by_sms = resident.contact_by_sms OR excluded.contact_by_sms, "
        "sms_consent_at = COALESCE(excluded.sms_consent_at, resident.sms_consent_at), "
        "sms_opted_out_at = CASE WHEN excluded.contact_by_sms THEN NULL ELSE resident.sms_opted_out_at END "
        "RETURNING id",
        resident.name,
        email,
        resident.phone,
        by_email,
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
        starts_at = (await Session.select(Session.starts_at).where(Session.id == booking["session"]).first())[
            "starts_at"
        ]
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
