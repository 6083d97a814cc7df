"""Staff putting people on a session's register: walk-ins, booking for someone who phones or comes in,
and moving someone up from the waiting list. Each is one transaction with its outbox events and its
audit entry; the rules that apply when staff book are in ``booking/register.py``'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking.audit import record_audit
from booking.clock import FixedClock
from booking.errors import (
    AlreadyBooked,
    AlreadyOnWaitlist,
    BookingAlreadyCancelled,
    BookingError,
    BookingNotFound,
    SessionCancelled,
    SessionFull,
    SessionNotFound,
    SessionStarted,
)
from booking.references import hash_token, new_manage_token, new_reference
from booking.register import (
    ON_BEHALF_SOURCES,
    InvalidConsentSource,
    NoLongerWaiting,
    NotEnoughPlacesToMoveUp,
    SessionEnded,
    WaitlistEntryNotFound,
    register_problem,
)
from booking.rules import check_party_size
from booking.service import (
    BookingConfirmation,
    Cancellation,
    book_place,
    cancel_booking,
    record_availability_changed,
    take_places,
    upsert_resident,
)
from booking.staff import StaffUser
from booking.states import (
    Attendance,
    BookingSource,
    BookingStatus,
    ConsentSource,
    SessionStatus,
    WaitlistEntryStatus,
    WaitlistOfferStatus,
)
from booking.tables import Booking, Resident, Session, WaitlistEntry, WaitlistOffer
from booking.validation import (
    EMAIL_PATTERN,
    MAX_NAME,
    MAX_SUPPORT_NOTE,
    BookingRequest,
    ResidentDetails,
    normalise_uk_phone,
)
from booking.waitlist import (
    WaitlistPlace,
    accept_once,
    join_waitlist,
    retrying_reference_collisions,
    save_booking,
    set_entry_status,
)
from commons.db import write_transaction
from events.outbox import record_event

# --- Walk-ins -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkIn:
    name: str
    party_size: int
    email: str | None = None
    phone: str | None = None  #: E.164
    support_note: str = ""


def validate_walk_in(
    *, name: object, party_size: object, email: object = "", phone: object = "", support_note: object = "",
    max_party_size: int,
) -> tuple[WalkIn | None, dict[str, str]]:
    """A walk-in needs a name and a number of places; contact details are optional. Pure."""
    errors: dict[str, str] = {}
    name_text = str(name or "").strip()
    email_text = str(email or "").strip().lower()
    phone_text = str(phone or "").strip()
    note_text = str(support_note or "").strip()
    if not name_text:
        errors["name"] = "Enter their name"
    elif len(name_text) > MAX_NAME:
        errors["name"] = f"Name must be {MAX_NAME} characters or fewer"
    if email_text and (len(email_text) > 320 or not EMAIL_PATTERN.match(email_text)):
        errors["email"] = "Enter an email address in the correct format, like name@example.com"
    phone_value = normalise_uk_phone(phone_text) if phone_text else None
    if phone_text and phone_value is None:
        errors["phone"] = "Enter a UK mobile number, like 07700 900 982"
    size = _whole_number(party_size)
    if size is None:
        errors["party_size"] = "Enter how many people came, as a whole number, like 2"
    elif not 1 <= size <= max_party_size:
        errors["party_size"] = f"Enter a number of people between 1 and {max_party_size}"
    if len(note_text) > MAX_SUPPORT_NOTE:
        errors["support_note"] = f"Access or support needs must be {MAX_SUPPORT_NOTE} characters or fewer"
    if errors:
        return None, errors
    assert size is not None
    return WalkIn(name_text, size, email_text or None, phone_value, note_text), {}


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value if value is not None else "").strip())
    except ValueError:
        return None


async def add_walk_in(
    session_id: int, walk_in: WalkIn, actor: StaffUser, now: datetime,
    consent_source: ConsentSource = ConsentSource.IN_PERSON,
) -> BookingConfirmation:
    """Someone came without booking: a booking marked attended, if the places are there (never overbooked).

    With no contact details the walk-in gets a resident record of their own with only a name. No
    ``booking.confirmed`` is recorded: they are in the room, so nobody sends them a confirmation.
    """
    return await retrying_reference_collisions(lambda: _walk_in_once(session_id, walk_in, actor, now, consent_source))


async def _walk_in_once(
    session_id: int, walk_in: WalkIn, actor: StaffUser, now: datetime, consent_source: ConsentSource
) -> BookingConfirmation:
    async with write_transaction(Booking._meta.db):
        session = await Session.select(
            Session.status,
            Session.starts_at,
            Session.ends_at,
            Session.room.venue.as_alias("venue"),
            Session.activity.max_party_size.as_alias("max_party_size"),
        ).where(Session.id == session_id).first()
        if session is None:
            raise SessionNotFound()
        problem = register_problem(session["starts_at"], session["ends_at"], session["status"], now)
        if problem is not None:
            raise problem
        check_party_size(walk_in.party_size, session["max_party_size"])
        resident_id = await _walk_in_resident(walk_in, now)
        if await _has_confirmed_booking(session_id, resident_id):
            raise AlreadyBooked("They already have a booking for this session: mark them on the register instead.")
        rows = await take_places(session_id, walk_in.party_size)
        if not rows:
            raise SessionFull(await _full_message(session_id, walk_in.party_size, "The session is full"))
        places_left = await record_availability_changed(rows[0])
        booking = Booking(
            reference=new_reference(),
            session=session_id,
            resident=resident_id,
            party_size=walk_in.party_size,
            status=BookingStatus.CONFIRMED.value,
            source=BookingSource.WALK_IN.value,
            manage_token_hash=hash_token(new_manage_token()),
            created_at=now,
            support_note=walk_in.support_note[:MAX_SUPPORT_NOTE],
            consent_source=consent_source.value,
            booked_by=actor.id,
            attendance=Attendance.ATTENDED.value,
            attendance_marked_at=now,
        )
        await booking.save()
        await record_event(
            "booking.attendance_marked",
            {"booking_id": booking.id, "session_id": session_id, "attendance": Attendance.ATTENDED.value},
        )
        await record_audit(
            actor,
            "booking.walk_in_added",
            "booking",
            booking.id,
            summary=f"Added {walk_in.name} as a walk-in ({_places(walk_in.party_size)}), marked as attended.",
            after={"party_size": walk_in.party_size, "source": BookingSource.WALK_IN, "attendance": Attendance.ATTENDED},
            venue_id=session["venue"],
            resident_id=resident_id,
            now=now,
        )
    return BookingConfirmation(
        booking_id=booking.id,
        reference=booking.reference,
        manage_token="",
        session_id=session_id,
        resident_id=resident_id,
        party_size=walk_in.party_size,
        status=BookingStatus.CONFIRMED,
        places_left=places_left,
    )


async def _walk_in_resident(walk_in: WalkIn, now: datetime) -> int:
    """The resident a walk-in's contact details find (or add); with none, a new record with only a name."""
    if walk_in.email or walk_in.phone:
        # Contact details given in person are for this booking's messages by e-mail; texts need an opt-in
        # the walk-in form does not ask for, so none is recorded.
        details = ResidentDetails(walk_in.name, walk_in.email, walk_in.phone, sms_opt_in=False,
                                  contact_by_email=bool(walk_in.email))
        return await upsert_resident(details, now)
    resident = Resident(name=walk_in.name, email=None, phone=None, contact_by_email=False, created_at=now)
    await resident.save()
    return resident.id


# --- Booking on someone's behalf ----------------------------------------------------------------


def parse_consent_source(value: object) -> ConsentSource:
    """Only "phone" or "in_person": a booking staff make never claims the resident consented online."""
    try:
        consent = ConsentSource(str(value or "").strip())
    except ValueError:
        raise InvalidConsentSource() from None
    if consent not in ON_BEHALF_SOURCES:
        raise InvalidConsentSource()
    return consent


async def book_on_behalf(
    session_id: int,
    request: BookingRequest,
    consent_source: ConsentSource | str,
    actor: StaffUser,
    now: datetime,
    *,
    idempotency_key: str | None = None,
) -> BookingConfirmation:
    """Book for someone who phoned or came in: ``book_place`` with source phone or in person, the consent
    they gave, who booked it, and an audit entry, in one transaction. ``booking.confirmed`` (recorded by
    ``book_place``) sends them their confirmation. A repeat of the same form changes nothing."""
    consent = parse_consent_source(consent_source.value if isinstance(consent_source, ConsentSource) else consent_source)
    try:
        return await _book_on_behalf_once(session_id, request, consent, actor, now, idempotency_key)
    except AlreadyBooked:
        raise AlreadyBooked("They already have a booking for this session: you can find it on the register.") from None


async def _book_on_behalf_once(
    session_id: int,
    request: BookingRequest,
    consent: ConsentSource,
    actor: StaffUser,
    now: datetime,
    idempotency_key: str | None,
) -> BookingConfirmation:
    async with write_transaction(Booking._meta.db):
        confirmation = await book_place(
            session_id,
            request.resident,
            request.party_size,
            source=ON_BEHALF_SOURCES[consent],
            now=now,
            support_note=request.support_note,
            idempotency_key=idempotency_key,
        )
        if confirmation.repeated:
            return confirmation
        await Booking.update({Booking.consent_source: consent.value, Booking.booked_by: actor.id}).where(
            Booking.id == confirmation.booking_id
        )
        how = "by phone" if consent is ConsentSource.PHONE else "in person"
        await record_audit(
            actor,
            "booking.made_on_behalf",
            "booking",
            confirmation.booking_id,
            summary=f"Booked {_places(request.party_size)} for {request.resident.name} ({how}), "
            f"reference {confirmation.reference}.",
            after={"party_size": request.party_size, "source": ON_BEHALF_SOURCES[consent], "consent_source": consent},
            venue_id=await _venue_of_session(session_id),
            resident_id=confirmation.resident_id,
            now=now,
        )
    return confirmation


async def join_waitlist_on_behalf(
    session_id: int, request: BookingRequest, consent_source: ConsentSource | str, actor: StaffUser, now: datetime
) -> WaitlistPlace:
    """The session is full: put them on its waiting list instead (the same rules as joining online)."""
    consent = parse_consent_source(consent_source.value if isinstance(consent_source, ConsentSource) else consent_source)
    try:
        return await _join_waitlist_on_behalf_once(session_id, request, consent, actor, now)
    except AlreadyOnWaitlist:
        raise AlreadyOnWaitlist("They are already on the waiting list for this session.") from None
    except AlreadyBooked:
        raise AlreadyBooked("They already have a booking for this session: you can find it on the register.") from None


async def _join_waitlist_on_behalf_once(
    session_id: int, request: BookingRequest, consent: ConsentSource, actor: StaffUser, now: datetime
) -> WaitlistPlace:
    async with write_transaction(WaitlistEntry._meta.db):
        place = await join_waitlist(session_id, request.resident, request.party_size, FixedClock(now))
        how = "by phone" if consent is ConsentSource.PHONE else "in person"
        await record_audit(
            actor,
            "waitlist.joined_on_behalf",
            "waitlist_entry",
            place.waitlist_entry_id,
            summary=f"Added {request.resident.name} to the waiting list ({_places(request.party_size)}, {how}), "
            f"number {place.position} in line.",
            after={"party_size": request.party_size, "consent_source": consent},
            venue_id=await _venue_of_session(session_id),
            resident_id=place.resident_id,
            now=now,
        )
    return place


# --- Moving up from the waiting list ------------------------------------------------------------


async def move_up(entry_id: int, actor: StaffUser, now: datetime) -> BookingConfirmation:
    """Book a waiting person straight into the session when enough places are free (no offer step).

    Places held by open offers for other people are not free. Someone with an open offer already has
    places held for them: moving them up accepts the offer for them.
    """
    return await retrying_reference_collisions(lambda: _move_up_once(entry_id, actor, now))


async def _move_up_once(entry_id: int, actor: StaffUser, now: datetime) -> BookingConfirmation:
    async with write_transaction(WaitlistEntry._meta.db):
        entry = await WaitlistEntry.select(
            WaitlistEntry.id,
            WaitlistEntry.session,
            WaitlistEntry.resident,
            WaitlistEntry.party_size,
            WaitlistEntry.status,
            WaitlistEntry.resident.name.as_alias("name"),
            WaitlistEntry.session.status.as_alias("session_status"),
            WaitlistEntry.session.ends_at.as_alias("ends_at"),
            WaitlistEntry.session.room.venue.as_alias("venue"),
        ).where(WaitlistEntry.id == entry_id).first()
        if entry is None:
            raise WaitlistEntryNotFound()
        if entry["session_status"] == SessionStatus.CANCELLED.value:
            raise SessionCancelled("This session has been cancelled, so nobody can be moved up.")
        if entry["ends_at"] <= now:
            raise SessionEnded()
        if entry["status"] == WaitlistEntryStatus.OFFERED.value:
            confirmation = await _accept_for_them(entry_id, now)
        elif entry["status"] == WaitlistEntryStatus.WAITING.value:
            confirmation = await _book_waiting_entry(entry, now)
        else:
            raise NoLongerWaiting()
        await Booking.update({Booking.booked_by: actor.id}).where(Booking.id == confirmation.booking_id)
        await record_audit(
            actor,
            "waitlist.moved_up",
            "booking",
            confirmation.booking_id,
            summary=f"Moved {entry['name']} up from the waiting list ({_places(entry['party_size'])}), "
            f"reference {confirmation.reference}.",
            before={"waitlist_status": entry["status"]},
            after={"waitlist_status": WaitlistEntryStatus.BOOKED, "party_size": entry["party_size"]},
            venue_id=entry["venue"],
            resident_id=entry["resident"],
            now=now,
        )
    return confirmation


async def _book_waiting_entry(entry: dict, now: datetime) -> BookingConfirmation:
    session_id, size = entry["session"], entry["party_size"]
    if await _has_confirmed_booking(session_id, entry["resident"]):
        raise AlreadyBooked("They already have a booking for this session.")
    rows = await take_places(session_id, size)
    if not rows:
        raise NotEnoughPlacesToMoveUp(await _full_message(session_id, size, None, who=entry["name"]))
    await set_entry_status(entry["id"], WaitlistEntryStatus.BOOKED)
    places_left = await record_availability_changed(rows[0])
    return await save_booking(session_id, entry["resident"], size, places_left, now)


async def _accept_for_them(entry_id: int, now: datetime) -> BookingConfirmation:
    offer = await WaitlistOffer.select(WaitlistOffer.token_hash).where(
        (WaitlistOffer.entry == entry_id) & (WaitlistOffer.status == WaitlistOfferStatus.OPEN.value)
    ).first()
    if offer is None:
        raise NoLongerWaiting()
    return await accept_once(offer["token_hash"], now)


# --- Shared steps, inside the caller's transaction ----------------------------------------------


async def _full_message(session_id: int, party_size: int, lead: str | None, *, who: str = "they") -> str:
    """ "Only 1 place is free; Ada needs 2." with the places held for offers, if any."""
    row = await Session.select(Session.capacity, Session.booked, Session.held).where(Session.id == session_id).first()
    free = max(row["capacity"] - row["booked"] - row["held"], 0)
    if free == 0:
        text = f"No places are free; {who} {'need' if who == 'they' else 'needs'} {party_size}."
    else:
        verb = "is" if free == 1 else "are"
        text = f"Only {_places(free)} {verb} free; {who} {'need' if who == 'they' else 'needs'} {party_size}."
    if row["held"]:
        text += f" {_places(row['held'])} {'is' if row['held'] == 1 else 'are'} held for waiting-list offers."
    return f"{lead}: {text[0].lower()}{text[1:]}" if lead else text


MAX_CANCEL_REASON = 500  #: as for residents cancelling themselves (``cancel_booking``)
TOLD_US = {ConsentSource.PHONE: "by phone", ConsentSource.IN_PERSON: "in person"}


class CancelReasonTooLong(BookingError):
    code = "cancel_reason_too_long"
    message = f"Keep the reason to {MAX_CANCEL_REASON} characters or fewer."
    http_status = 422


async def cancel_on_behalf(
    booking_id: int, told_us: ConsentSource, reason: str, actor: StaffUser, now: datetime
) -> Cancellation:
    """Cancel a booking for someone who asked staff to (by phone or at the desk), before the session starts.

    The booking is cancelled exactly as when the resident does it (``cancel_booking``: places freed, the
    waiting list offered them, the resident told), and the staff member's action is audited.
    """
    reason = reason.strip()
    if len(reason) > MAX_CANCEL_REASON:
        raise CancelReasonTooLong()
    async with write_transaction(Booking._meta.db):
        booking = await _booking_to_cancel(booking_id)
        if booking is None:
            raise BookingNotFound()
        if booking["status"] != BookingStatus.CONFIRMED.value:
            raise BookingAlreadyCancelled()
        if booking["session_status"] == SessionStatus.CANCELLED.value:
            raise SessionCancelled()
        if booking["starts_at"] <= now:
            raise SessionStarted(
                "This session has started, so the booking can no longer be cancelled. "
                "Mark them as a no-show on the register instead."
            )
        cancellation = await cancel_booking(booking["reference"], reason=reason, authorised=True, now=now)
        await record_audit(
            actor,
            "booking.cancelled",
            "booking",
            booking_id,
            summary=f"Cancelled {booking['name']}'s booking ({_places(booking['party_size'])}), reference "
            f"{booking['reference']}, as they asked {TOLD_US[told_us]}.",
            before={"status": BookingStatus.CONFIRMED.value},
            after={"status": BookingStatus.CANCELLED.value, "asked": told_us.value, "reason": reason},
            venue_id=booking["venue"],
            resident_id=booking["resident"],
            now=now,
        )
    return cancellation


async def _booking_to_cancel(booking_id: int) -> dict | None:
    return (
        await Booking.select(
            Booking.id,
            Booking.reference,
            Booking.status,
            Booking.party_size,
            Booking.resident,
            Booking.resident.name.as_alias("name"),
            Booking.session.status.as_alias("session_status"),
            Booking.session.starts_at.as_alias("starts_at"),
            Booking.session.room.venue.as_alias("venue"),
        )
        .where(Booking.id == booking_id)
        .first()
    )


def _places(n: int) -> str:
    return "1 place" if n == 1 else f"{n} places"


async def _has_confirmed_booking(session_id: int, resident_id: int) -> bool:
    return await Booking.exists().where(
        (Booking.session == session_id)
        & (Booking.resident == resident_id)
        & (Booking.status == BookingStatus.CONFIRMED.value)
    )


async def _venue_of_session(session_id: int) -> int | None:
    row = await Session.select(Session.room.venue.as_alias("venue")).where(Session.id == session_id).first()
    return None if row is None else row["venue"]
