"""Social-prescribing referrals: a partner's link worker refers a resident to a session.

A referral either books the places straight away (``take_places``, the capacity rule every booking
follows) or holds them for some days in ``session.held``, exactly as a waiting-list offer does, while
the resident confirms through a signed link. Confirming moves the held places to booked in one
conditional UPDATE; the expiry sweep (the capacity worker) gives them back. Each use case is one
``write_transaction`` with its ``referral.*`` event in the outbox. The referral messages are the
resident's confirmation, so a referral's booking records no ``booking.confirmed``.

Partner staff are staff accounts with the role ``partner``, linked to one partner by ``PartnerStaff``;
everything here that lists referrals takes that partner's id, so one partner never sees another's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw

from booking.audit import record_audit
from booking.errors import AlreadyBooked, BookingAlreadyCancelled, BookingError, SessionCancelled, SessionFull
from booking.queries import SessionView, get_session
from booking.register_bookings import parse_consent_source
from booking.rules import check_party_size
from booking.service import (
    BookingConfirmation,
    _load_bookable_session,
    cancel_booking,
    record_availability_changed,
    take_places,
    upsert_resident,
)
from booking.staff import StaffUser
from booking.states import (
    ActivityCategory,
    Attendance,
    BookingSource,
    BookingStatus,
    ConsentSource,
    ReferralMode,
    ReferralOutcome,
    ReferralStatus,
    SessionStatus,
    StaffRole,
)
from booking.tables import Booking, Partner, PartnerStaff, Referral, Session, Venue
from booking.validation import EMAIL_PATTERN, MAX_NAME, MAX_SUPPORT_NOTE, ResidentDetails, is_ticked, normalise_uk_phone
from booking.waitlist import CUTOFF, iso_utc, offer_expiry, retrying_reference_collisions, save_booking
from commons.db import write_transaction
from events.outbox import record_event

MAX_HOLD_DAYS = 14
MAC_LENGTH = 32  #: base64url characters kept from the HMAC (192 bits)
MAX_ROW_ID = 2**31 - 1
MAX_CANCEL_REASON = 500  #: the same cap as a booking's cancel reason
SESSIONS_SHOWN = 50  #: options in the new-referral form's session list; a search narrows it
MAX_SEARCH_TEXT = 100


class NotAPartner(BookingError):
    code = "not_a_partner"
    message = "Your account is not linked to a partner organisation. Ask an administrator to link it."
    http_status = 403


class ReferralNotFound(BookingError):
    code = "referral_not_found"
    message = "We could not find that referral. Check you used the whole link from your message."
    http_status = 404


NO_SUCH_REFERRAL = "We could not find that referral. It may have been made by another organisation."


class ReferralNotOpen(BookingError):
    code = "referral_not_open"
    message = "This place is no longer held for you."


class ReferralHoldExpired(ReferralNotOpen):
    code = "referral_expired"
    message = "Sorry, the place was held until a date that has passed, so it has gone back on sale."


class ReferralAlreadyAccepted(ReferralNotOpen):
    code = "referral_already_accepted"
    message = "You have already confirmed this place. Check your email or texts for your booking details."


class ReferralNotCancellable(BookingError):
    """Why a partner cannot cancel a referral (``cancel_refusal``); each says so in plain English."""

    code = "referral_not_cancellable"
    message = "This referral can no longer be cancelled."


class ReferralAlreadyCancelled(ReferralNotCancellable):
    code = "referral_already_cancelled"
    message = "This referral has already been cancelled."


class ReferralHoldRanOut(ReferralNotCancellable):
    code = "referral_hold_ran_out"
    message = (
        "This referral can no longer be cancelled: the resident did not confirm the held place in time, "
        "so it has already gone back on sale."
    )


class ReferralBookingAlreadyCancelled(ReferralNotCancellable):
    code = "referral_booking_cancelled"
    message = "This referral can no longer be cancelled: the booking it made has already been cancelled."


class ReferralSessionStarted(ReferralNotCancellable):
    code = "referral_session_started"
    message = "This referral can no longer be cancelled: the session has already started."


class ReferralSessionCancelled(ReferralNotCancellable):
    code = "referral_session_cancelled"
    message = "This referral can no longer be cancelled: the session itself has been cancelled."


class CancelReasonTooLong(BookingError):
    code = "reason_too_long"
    message = f"The reason must be {MAX_CANCEL_REASON} characters or fewer."
    http_status = 422


class TooLateToHold(BookingError):
    code = "too_late_to_hold"
    message = "This session starts too soon to hold a place. Book the place straight away instead."
    http_status = 422


@dataclass(frozen=True)
class ReferralRequest:
    """A link worker's referral, validated (``validate_referral``)."""

    session_id: int
    resident: ResidentDetails
    party_size: int
    consent_source: ConsentSource  #: phone | in_person: how the resident told the link worker
    share_outcome: bool
    mode: ReferralMode
    hold_days: int = 0
    note_for_staff: str = ""


@dataclass(frozen=True)
class ReferralMade:
    referral_id: int
    partner_id: int
    session_id: int
    resident_id: int
    mode: ReferralMode
    expires_at: datetime | None
    booking: BookingConfirmation | None  #: book mode


@dataclass(frozen=True)
class ReferralExpiry:
    referral_id: int
    session_id: int
    party_size: int


@dataclass(frozen=True)
class PartnerReferral:
    """One row of a partner's list: what they may see of a referral they made."""

    id: int
    created_at: datetime
    resident_name: str
    session_id: int
    activity_title: str
    starts_at: datetime
    time_zone: str
    party_size: int
    mode: ReferralMode
    outcome: ReferralOutcome
    venue_name: str = ""
    #: what ``cancel_refusal`` reads: whether the partner may still cancel it
    status: str = ReferralStatus.CREATED.value
    expires_at: datetime | None = None
    booking_status: str | None = None
    session_status: str = SessionStatus.SCHEDULED.value

    def cancel_refusal(self, now: datetime) -> ReferralNotCancellable | None:
        return cancel_refusal(
            self.status, self.mode.value, self.expires_at, self.booking_status, self.session_status, self.starts_at, now
        )

    def can_cancel(self, now: datetime) -> bool:
        return self.cancel_refusal(now) is None


@dataclass(frozen=True)
class ReferralCancellation:
    referral_id: int
    session_id: int
    party_size: int
    booking_id: int | None  #: the booking cancelled with it (book mode, or a confirmed hold)


@dataclass(frozen=True)
class PartnerFigures:
    partner_id: int
    partner_name: str
    referrals: int
    booked: int  #: became a booking (straight away or confirmed)
    attended: int
    did_not_attend: int
    expired: int


# --- Pure rules ---------------------------------------------------------------------------------


def validate_referral(form: dict, *, max_party_size: int = 50) -> tuple[ReferralRequest | None, dict[str, str]]:
    """The new-referral form (or API body), as strings; errors keyed by field, in plain English. Pure."""
    errors: dict[str, str] = {}
    text = {
        key: str(form.get(key) or "").strip()
        for key in ("session_id", "name", "email", "phone", "party_size", "consent_source", "mode", "hold_days", "note")
    }
    session_id = _whole_number(text["session_id"])
    if session_id is None or not 0 < session_id <= MAX_ROW_ID:
        errors["session_id"] = "Choose a session"
    if not text["name"]:
        errors["name"] = "Enter the resident's name"
    elif len(text["name"]) > MAX_NAME:
        errors["name"] = f"Name must be {MAX_NAME} characters or fewer"
    email = text["email"].lower()
    if email and (len(email) > 320 or not EMAIL_PATTERN.match(email)):
        errors["email"] = "Enter an email address in the correct format, like name@example.com"
    phone = normalise_uk_phone(text["phone"]) if text["phone"] else None
    if text["phone"] and phone is None:
        errors["phone"] = "Enter a UK mobile number, like 07700 900 982"
    texts = is_ticked(form.get("sms_opt_in"))
    if not email and not text["phone"]:
        errors["email"] = "Enter the resident's email address or mobile number, so we can contact them"
    elif not email and not texts and "phone" not in errors:
        errors["sms_opt_in"] = "With no email address, the resident must agree to texts so we can tell them"
    size = _whole_number(text["party_size"] or "1")
    if size is None or not 1 <= size <= max_party_size:
        errors["party_size"] = f"Enter a number of places between 1 and {max_party_size}"
    consent = None
    try:
        consent = parse_consent_source(text["consent_source"])
    except BookingError:
        errors["consent_source"] = "Say how the resident agreed to the referral: by phone or in person"
    try:
        mode = ReferralMode(text["mode"])
    except ValueError:
        mode = None
        errors["mode"] = "Choose whether to book the place now or hold it while the resident confirms"
    hold_days = 0
    if mode is ReferralMode.HOLD:
        hold_days = _whole_number(text["hold_days"]) or 0
        if not 1 <= hold_days <= MAX_HOLD_DAYS:
            errors["hold_days"] = f"Enter how many days to hold the place, between 1 and {MAX_HOLD_DAYS}"
    if len(text["note"]) > MAX_SUPPORT_NOTE:
        errors["note"] = f"The note for the session's staff must be {MAX_SUPPORT_NOTE} characters or fewer"
    if errors:
        return None, errors
    resident = ResidentDetails(
        name=text["name"],
        email=email or None,
        phone=phone,
        sms_opt_in=bool(texts and phone),
        contact_by_email=bool(email),
    )
    return ReferralRequest(
        session_id=session_id,
        resident=resident,
        party_size=size,
        consent_source=consent,
        share_outcome=is_ticked(form.get("share_outcome")),
        mode=mode,
        hold_days=hold_days,
        note_for_staff=text["note"],
    ), {}


def outcome_of(status: str, share_outcome: bool, booking_status: str | None, attendance: str | None) -> ReferralOutcome:
    """What the partner sees. Whether the resident came is shown only if they agreed to it being shared."""
    if status == ReferralStatus.EXPIRED.value:
        return ReferralOutcome.EXPIRED
    if status == ReferralStatus.CANCELLED.value:
        return ReferralOutcome.CANCELLED
    if booking_status is None:
        return ReferralOutcome.WAITING
    if not share_outcome:
        return ReferralOutcome.NOT_SHARED
    if booking_status == BookingStatus.CANCELLED.value:
        return ReferralOutcome.CANCELLED
    if attendance == Attendance.ATTENDED.value:
        return ReferralOutcome.ATTENDED
    if attendance == Attendance.NO_SHOW.value:
        return ReferralOutcome.DID_NOT_ATTEND
    return ReferralOutcome.BOOKED


def cancel_refusal(
    status: str,
    mode: str,
    expires_at: datetime | None,
    booking_status: str | None,
    session_status: str,
    starts_at: datetime,
    now: datetime,
) -> ReferralNotCancellable | None:
    """Why a partner can no longer cancel this referral, or None if they can: an open hold, or a booking
    still confirmed on a session that has not started. Pure."""
    if session_status == SessionStatus.CANCELLED.value:
        return ReferralSessionCancelled()
    if status == ReferralStatus.CANCELLED.value:
        return ReferralAlreadyCancelled()
    open_hold = status == ReferralStatus.CREATED.value and mode == ReferralMode.HOLD.value
    if status == ReferralStatus.EXPIRED.value or (open_hold and (expires_at is None or expires_at <= now)):
        return ReferralHoldRanOut()
    if starts_at <= now:
        return ReferralSessionStarted()
    if open_hold:
        return None
    if booking_status != BookingStatus.CONFIRMED.value:
        return ReferralBookingAlreadyCancelled()  # by the resident, or by staff
    return None


def _whole_number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


# --- Confirm links ------------------------------------------------------------------------------


def _mac(secret_key: str, referral_id: int, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), f"referral:{referral_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def signed_referral_token(secret_key: str, referral_id: int, nonce: str) -> str:
    """The token for ``/referrals/{token}``: ``id.mac``; nothing secret travels in events."""
    return f"{referral_id}.{_mac(secret_key, referral_id, nonce)}"


async def referral_link_token(secret_key: str, referral_id: int) -> str | None:
    row = await Referral.select(Referral.nonce).where(Referral.id == referral_id).first()
    return None if row is None else signed_referral_token(secret_key, referral_id, row["nonce"])


async def referral_for_link(secret_key: str, token: str) -> int | None:
    """The referral a confirm link opens, whatever its state; None for a malformed or forged token."""
    referral_id, dot, mac = (token or "").partition(".")
    if not dot or not mac or not (referral_id.isascii() and referral_id.isdigit()) or len(referral_id) > 10:
        return None
    if not 0 < int(referral_id) <= MAX_ROW_ID:
        return None
    row = await Referral.select(Referral.nonce).where(Referral.id == int(referral_id)).first()
    if row is None or not hmac.compare_digest(token, signed_referral_token(secret_key, int(referral_id), row["nonce"])):
        return None
    return int(referral_id)


# --- Partner staff ------------------------------------------------------------------------------


async def link_partner_staff(staff_member_id: int, partner_id: int) -> None:
    """Make a staff account with the role ``partner`` work for one partner (replacing any earlier link)."""
    async with write_transaction(PartnerStaff._meta.db):
        await PartnerStaff.delete().where(PartnerStaff.staff_member == staff_member_id)
        await PartnerStaff(staff_member=staff_member_id, partner=partner_id).save()


async def unlink_partner_staff(staff_member_id: int) -> None:
    """An account that is no longer a partner's works for none (its role changed)."""
    async with write_transaction(PartnerStaff._meta.db):
        await PartnerStaff.delete().where(PartnerStaff.staff_member == staff_member_id)


async def partner_of(actor: StaffUser) -> int:
    """The partner a partner-staff member works for; ``NotAPartner`` for anyone else."""
    if actor.role is not StaffRole.PARTNER:
        raise NotAPartner()
    row = await PartnerStaff.select(PartnerStaff.partner).where(PartnerStaff.staff_member == actor.id).first()
    if row is None:
        raise NotAPartner()
    return row["partner"]


# --- Use cases ----------------------------------------------------------------------------------


async def create_referral(actor: StaffUser, request: ReferralRequest, now: datetime) -> ReferralMade:
    """Refer a resident: book the places now, or hold them and send the resident a confirm link."""
    partner_id = await partner_of(actor)
    return await retrying_reference_collisions(lambda: _create_once(actor, partner_id, request, now))


async def _create_once(actor: StaffUser, partner_id: int, request: ReferralRequest, now: datetime) -> ReferralMade:
    async with write_transaction(Referral._meta.db):
        # A link worker books like staff do: the activity's booking window does not apply.
        session = await _load_bookable_session(request.session_id, now)
        check_party_size(request.party_size, session["max_party_size"])
        resident_id = await upsert_resident(request.resident, now)
        if await _has_confirmed_booking(request.session_id, resident_id) or await _has_open_hold(
            request.session_id, resident_id
        ):
            raise AlreadyBooked("This resident already has a place on this session.")
        expires_at = None
        if request.mode is ReferralMode.HOLD:
            expires_at = offer_expiry(now, session["starts_at"], offer_hours=24 * request.hold_days, cutoff=CUTOFF)
            if expires_at is None:
                raise TooLateToHold()
            rows = await _hold_places(request.session_id, request.party_size)
        else:
            rows = await take_places(request.session_id, request.party_size)
        if not rows:
            raise SessionFull()
        places_left = await record_availability_changed(rows[0])
        confirmation = None
        if request.mode is ReferralMode.BOOK:
            confirmation = await _save_booking(
                request.session_id, resident_id, request.party_size, request.consent_source, places_left, now, actor.id
            )
        referral = Referral(
            partner=partner_id,
            created_by=actor.id,
            resident=resident_id,
            session=request.session_id,
            party_size=request.party_size,
            note_for_staff=request.note_for_staff,
            consent_source=request.consent_source.value,
            consent_at=now,
            share_outcome=request.share_outcome,
            mode=request.mode.value,
            hold_days=request.hold_days,
            expires_at=expires_at,
            status=ReferralStatus.CREATED.value,
            nonce=secrets.token_hex(16),
            booking=confirmation.booking_id if confirmation else None,
            created_at=now,
        )
        await referral.save()
        venue = await Session.select(Session.room.venue.as_alias("venue")).where(Session.id == request.session_id).first()
        await record_audit(
            actor,
            "referral.created",
            "referral",
            referral.id,
            summary=f"Referred {request.resident.name} to {session['activity_title']}"
            + (" and booked the place." if request.mode is ReferralMode.BOOK else f", holding the place {request.hold_days} days."),
            after={
                "session_id": request.session_id,
                "party_size": request.party_size,
                "mode": request.mode.value,
                "hold_days": request.hold_days,
                "consent_source": request.consent_source.value,
                "share_outcome": request.share_outcome,
            },
            venue_id=venue["venue"],
            resident_id=resident_id,
            now=now,
        )
        await record_event(
            "referral.created",
            {
                "referral_id": referral.id,
                "partner_id": partner_id,
                "session_id": request.session_id,
                "resident_id": resident_id,
                "party_size": request.party_size,
                "mode": request.mode.value,
                "expires_at": iso_utc(expires_at) if expires_at else None,
                "booking_id": confirmation.booking_id if confirmation else None,
            },
        )
    return ReferralMade(
        referral.id, partner_id, request.session_id, resident_id, request.mode, expires_at, confirmation
    )


async def accept_referral(referral_id: int, now: datetime) -> BookingConfirmation:
    """The resident confirms a held place (the caller checked the signed link): held becomes booked."""
    return await retrying_reference_collisions(lambda: _accept_once(referral_id, now))


async def _accept_once(referral_id: int, now: datetime) -> BookingConfirmation:
    async with write_transaction(Referral._meta.db):
        rows = await Referral.raw(
            "UPDATE referral SET status = {}, decided_at = {} WHERE id = {} AND status = {} AND mode = {} "
            "AND expires_at > {} RETURNING id, partner, session, resident, party_size, consent_source, created_by",
            ReferralStatus.ACCEPTED.value,
            now,
            referral_id,
            ReferralStatus.CREATED.value,
            ReferralMode.HOLD.value,
            now,
        )
        if not rows:
            raise await _why_not_open(referral_id)
        referral = rows[0]
        moved = await Session.raw(
            "UPDATE session SET held = held - {}, booked = booked + {} "
            "WHERE id = {} AND status = {} AND held >= {} RETURNING id, booked, held, capacity",
            referral["party_size"],
            referral["party_size"],
            referral["session"],
            SessionStatus.SCHEDULED.value,
            referral["party_size"],
        )
        if not moved:
            raise SessionCancelled()
        if await _has_confirmed_booking(referral["session"], referral["resident"]):
            raise AlreadyBooked()
        places_left = await record_availability_changed(moved[0])
        confirmation = await _save_booking(
            referral["session"],
            referral["resident"],
            referral["party_size"],
            ConsentSource(referral["consent_source"]),
            places_left,
            now,
            referral["created_by"],
        )
        await Referral.update({Referral.booking: confirmation.booking_id}).where(Referral.id == referral_id)
        await record_event(
            "referral.accepted",
            {
                "referral_id": referral_id,
                "partner_id": referral["partner"],
                "session_id": referral["session"],
                "resident_id": referral["resident"],
                "booking_id": confirmation.booking_id,
                "reference": confirmation.reference,
            },
        )
    return confirmation


async def expire_referrals(now: datetime) -> list[ReferralExpiry]:
    """Close every held referral past its time and give its places back (the capacity worker's sweep)."""
    async with write_transaction(Referral._meta.db):
        expired = await Referral.raw(
            "UPDATE referral SET status = {}, decided_at = {} WHERE status = {} AND mode = {} AND expires_at <= {} "
            "RETURNING id, partner, session, resident, party_size",
            ReferralStatus.EXPIRED.value,
            now,
            ReferralStatus.CREATED.value,
            ReferralMode.HOLD.value,
            now,
        )
        expired.sort(key=lambda row: (row["session"], row["id"]))  # one lock order on sessions
        for row in expired:
            # A cancelled session already let go of everything it held (cancel_session sets held = 0).
            released = await _release_held(row["session"], row["party_size"])
            if released:
                await record_availability_changed(released[0])
            await record_event(
                "referral.expired",
                {
                    "referral_id": row["id"],
                    "partner_id": row["partner"],
                    "session_id": row["session"],
                    "resident_id": row["resident"],
                    "party_size": row["party_size"],
                },
            )
    return [ReferralExpiry(row["id"], row["session"], row["party_size"]) for row in expired]


async def cancel_referral(actor: StaffUser, referral_id: int, reason: str, now: datetime) -> ReferralCancellation:
    """A partner takes back one of its own referrals. An open hold's places go back on sale and the resident
    is told (``referral.cancelled``); a confirmed booking is cancelled as staff cancel one, so the resident
    hears of it once, from ``booking.cancelled``, and the places go to the waiting list."""
    partner_id = await partner_of(actor)
    reason = (reason or "").strip()
    if len(reason) > MAX_CANCEL_REASON:
        raise CancelReasonTooLong()
    async with write_transaction(Referral._meta.db):
        # Twice at most: a hold the resident confirmed at this very moment is cancelled as a booking.
        for _ in range(2):
            row = await _referral_to_cancel(partner_id, referral_id)
            if row is None:
                raise ReferralNotFound(NO_SUCH_REFERRAL)  # the same for another partner's and a missing one
            refusal = cancel_refusal(
                row["status"],
                row["mode"],
                row["expires_at"],
                row["booking_status"],
                row["session_status"],
                row["starts_at"],
                now,
            )
            if refusal is not None:
                raise refusal
            if row["booking"] is None:
                done = await _cancel_hold(row, reason, now)
            else:
                done = await _cancel_booked(row, reason, now)
            if done is not None:
                await record_audit(
                    actor,
                    "referral.cancelled",
                    "referral",
                    referral_id,
                    summary=f"Cancelled the referral of {row['resident_name']} to {row['activity_title']}.",
                    before={"status": row["status"]},
                    after={"status": ReferralStatus.CANCELLED.value, "reason": reason},
                    venue_id=row["venue_id"],
                    resident_id=row["resident"],
                    now=now,
                )
                return done
        raise ReferralNotCancellable()


async def _referral_to_cancel(partner_id: int, referral_id: int) -> dict | None:
    return (
        await Referral.select(
            Referral.id,
            Referral.partner,
            Referral.status,
            Referral.mode,
            Referral.expires_at,
            Referral.booking,
            Referral.session,
            Referral.resident,
            Referral.party_size,
            Referral.partner.name.as_alias("partner_name"),
            Referral.resident.name.as_alias("resident_name"),
            Referral.session.activity.title.as_alias("activity_title"),
            Referral.session.room.venue.as_alias("venue_id"),
            Referral.session.status.as_alias("session_status"),
            Referral.session.starts_at.as_alias("starts_at"),
            Referral.booking.status.as_alias("booking_status"),
            Referral.booking.reference.as_alias("booking_reference"),
        )
        .where((Referral.id == referral_id) & (Referral.partner == partner_id))
        .first()
    )


async def _cancel_hold(row: dict, reason: str, now: datetime) -> ReferralCancellation | None:
    """Close an open hold and give its places back; None if it was confirmed or ran out meanwhile."""
    closed = await Referral.raw(
        "UPDATE referral SET status = {}, decided_at = {} WHERE id = {} AND status = {} AND mode = {} "
        "AND expires_at > {} RETURNING id",
        ReferralStatus.CANCELLED.value,
        now,
        row["id"],
        ReferralStatus.CREATED.value,
        ReferralMode.HOLD.value,
        now,
    )
    if not closed:
        return None
    released = await _release_held(row["session"], row["party_size"])
    if released:
        await record_availability_changed(released[0])
    await _record_cancelled(row, None, reason)
    return ReferralCancellation(row["id"], row["session"], row["party_size"], None)


async def _cancel_booked(row: dict, reason: str, now: datetime) -> ReferralCancellation | None:
    """Cancel the referral's confirmed booking in this transaction (``booking.cancelled`` tells the resident)."""
    closed = await Referral.raw(
        "UPDATE referral SET status = {}, decided_at = {} WHERE id = {} AND status IN ({}, {}) AND booking = {} "
        "RETURNING id",
        ReferralStatus.CANCELLED.value,
        now,
        row["id"],
        ReferralStatus.CREATED.value,
        ReferralStatus.ACCEPTED.value,
        row["booking"],
    )
    if not closed:
        return None
    told = reason or f"{row['partner_name']}, who referred you, cancelled the booking."
    try:
        await cancel_booking(row["booking_reference"], authorised=True, reason=told, now=now)
    except BookingAlreadyCancelled as error:  # by the resident, at this very moment
        raise ReferralBookingAlreadyCancelled() from error
    await _record_cancelled(row, row["booking"], reason)
    return ReferralCancellation(row["id"], row["session"], row["party_size"], row["booking"])


async def _record_cancelled(row: dict, booking_id: int | None, reason: str) -> None:
    await record_event(
        "referral.cancelled",
        {
            "referral_id": row["id"],
            "partner_id": row["partner"],
            "session_id": row["session"],
            "resident_id": row["resident"],
            "party_size": row["party_size"],
            "booking_id": booking_id,
            "reason": reason,
        },
    )


async def cancel_session_holds(session_id: int, now: datetime) -> list[int]:
    """A cancelled session's open holds are closed (in ``cancel_session``'s transaction, which sets held = 0)."""
    async with write_transaction(Referral._meta.db):
        rows = await Referral.raw(
            "UPDATE referral SET status = {}, decided_at = {} WHERE session = {} AND status = {} AND mode = {} "
            "RETURNING id",
            ReferralStatus.CANCELLED.value,
            now,
            session_id,
            ReferralStatus.CREATED.value,
            ReferralMode.HOLD.value,
        )
    return sorted(row["id"] for row in rows)


async def cancel_resident_holds(resident_id: int, now: datetime) -> list[int]:
    """Close a resident's open holds and give their places back (erasure: nobody is left to confirm them)."""
    async with write_transaction(Referral._meta.db):
        rows = await Referral.raw(
            "UPDATE referral SET status = {}, decided_at = {} WHERE resident = {} AND status = {} AND mode = {} "
            "RETURNING id, session, party_size",
            ReferralStatus.CANCELLED.value,
            now,
            resident_id,
            ReferralStatus.CREATED.value,
            ReferralMode.HOLD.value,
        )
        rows.sort(key=lambda row: (row["session"], row["id"]))  # one lock order on sessions
        for row in rows:
            released = await _release_held(row["session"], row["party_size"])
            if released:
                await record_availability_changed(released[0])
    return [row["id"] for row in rows]


async def erase_referral_notes(resident_id: int) -> None:
    """Blank the free text link workers wrote about a resident (erasure keeps the counts only)."""
    async with write_transaction(Referral._meta.db):
        await Referral.update({Referral.note_for_staff: ""}).where(Referral.resident == resident_id)


# --- Read models --------------------------------------------------------------------------------


def _partner_referral_query(partner_id: int):
    """A partner's own referrals with what they may see of the outcome: only this partner's rows, ever."""
    return Referral.select(
        Referral.id,
        Referral.created_at,
        Referral.resident.name.as_alias("resident_name"),
        Referral.session,
        Referral.session.activity.title.as_alias("activity_title"),
        Referral.session.starts_at.as_alias("starts_at"),
        Referral.session.room.venue.time_zone.as_alias("time_zone"),
        Referral.party_size,
        Referral.mode,
        Referral.status,
        Referral.share_outcome,
        Referral.booking.status.as_alias("booking_status"),
        Referral.booking.attendance.as_alias("attendance"),
        Referral.session.room.venue.name.as_alias("venue_name"),
        Referral.expires_at,
        Referral.session.status.as_alias("session_status"),
    ).where(Referral.partner == partner_id)


def _as_partner_referral(row: dict) -> PartnerReferral:
    return PartnerReferral(
        id=row["id"],
        created_at=row["created_at"],
        resident_name=row["resident_name"] or "",
        session_id=row["session"],
        activity_title=row["activity_title"],
        starts_at=row["starts_at"],
        time_zone=row["time_zone"],
        party_size=row["party_size"],
        mode=ReferralMode(row["mode"]),
        outcome=outcome_of(row["status"], row["share_outcome"], row["booking_status"], row["attendance"]),
        venue_name=row["venue_name"],
        status=row["status"],
        expires_at=row["expires_at"],
        booking_status=row["booking_status"],
        session_status=row["session_status"],
    )


async def partner_referrals(partner_id: int, limit: int = 200, offset: int = 0) -> list[PartnerReferral]:
    """A partner's own referrals, newest first, with the outcome they may see (a page of them)."""
    rows = await (
        _partner_referral_query(partner_id)
        .order_by(Referral.created_at, ascending=False)
        .order_by(Referral.id, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    return [_as_partner_referral(row) for row in rows]


async def partner_referral(partner_id: int, referral_id: int) -> PartnerReferral | None:
    """One of the partner's own referrals; None for another partner's, exactly as for one that does not exist."""
    row = await _partner_referral_query(partner_id).where(Referral.id == referral_id).first()
    return None if row is None else _as_partner_referral(row)


async def referral_figures(venue_ids: frozenset[int] | None = None) -> list[PartnerFigures]:
    """Referrals and attendance per partner (counts only): to sessions at ``venue_ids``, or everywhere for None.

    A coordinator sees the referrals into their own venues' sessions (``StaffUser.venue_filter``).
    """
    if venue_ids is not None and not venue_ids:
        return []
    where, venues = "", sorted(venue_ids or ())
    if venue_ids is not None:
        where = f"WHERE referral.session IN (SELECT session.id FROM session JOIN room ON room.id = session.room " \
            f"WHERE room.venue IN ({', '.join('{}' for _ in venues)})) "
    rows = await Referral.raw(
        "SELECT partner.id AS partner_id, partner.name AS partner_name, COUNT(referral.id) AS referrals, "
        "SUM(CASE WHEN booking.id IS NOT NULL THEN 1 ELSE 0 END) AS booked, "
        "SUM(CASE WHEN booking.attendance = {} THEN 1 ELSE 0 END) AS attended, "
        "SUM(CASE WHEN booking.attendance = {} THEN 1 ELSE 0 END) AS did_not_attend, "
        "SUM(CASE WHEN referral.status = {} THEN 1 ELSE 0 END) AS expired "
        "FROM referral JOIN partner ON partner.id = referral.partner "
        "LEFT JOIN booking ON booking.id = referral.booking "
        f"{where}GROUP BY partner.id, partner.name ORDER BY partner.name, partner.id",
        Attendance.ATTENDED.value,
        Attendance.NO_SHOW.value,
        ReferralStatus.EXPIRED.value,
        *venues,
    )
    return [
        PartnerFigures(
            row["partner_id"],
            row["partner_name"],
            int(row["referrals"]),
            int(row["booked"] or 0),
            int(row["attended"] or 0),
            int(row["did_not_attend"] or 0),
            int(row["expired"] or 0),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ReferredBy:
    partner_name: str
    note_for_staff: str


async def referrals_for_bookings(booking_ids: list[int]) -> dict[int, ReferredBy]:
    """For the register: which of these bookings came from a referral, and the note for staff."""
    if not booking_ids:
        return {}
    rows = await Referral.select(
        Referral.booking, Referral.partner.name.as_alias("partner_name"), Referral.note_for_staff
    ).where(Referral.booking.is_in(list(booking_ids)))
    return {row["booking"]: ReferredBy(row["partner_name"], row["note_for_staff"]) for row in rows}


async def partner_name(partner_id: int) -> str:
    row = await Partner.select(Partner.name).where(Partner.id == partner_id).first()
    return "" if row is None else row["name"]


# --- Steps, each inside the caller's transaction ------------------------------------------------


async def _hold_places(session_id: int, party_size: int) -> list[dict]:
    """Hold places as a waiting-list offer does: the same capacity rule, counted in ``held``."""
    return await Session.raw(
        "UPDATE session SET held = held + {} WHERE id = {} AND status = {} AND booked + held + {} <= capacity "
        "RETURNING id, booked, held, capacity",
        party_size,
        session_id,
        SessionStatus.SCHEDULED.value,
        party_size,
    )


async def _release_held(session_id: int, party_size: int) -> list[dict]:
    """Give held places back; nothing for a cancelled session (``cancel_session`` sets held = 0)."""
    return await Session.raw(
        "UPDATE session SET held = held - {} WHERE id = {} AND status = {} AND held >= {} "
        "RETURNING id, booked, held, capacity",
        party_size,
        session_id,
        SessionStatus.SCHEDULED.value,
        party_size,
    )


async def _save_booking(
    session_id: int,
    resident_id: int,
    party_size: int,
    consent: ConsentSource,
    places_left: int,
    now: datetime,
    booked_by: int | None,
) -> BookingConfirmation:
    """The referral's booking; no ``booking.confirmed``: the referral's own messages confirm it."""
    return await save_booking(
        session_id,
        resident_id,
        party_size,
        places_left,
        now,
        source=BookingSource.REFERRAL,
        recorded_by={"consent_source": consent.value, "booked_by": booked_by},
        announce=False,
    )


async def _has_confirmed_booking(session_id: int, resident_id: int) -> bool:
    return await Booking.exists().where(
        (Booking.session == session_id)
        & (Booking.resident == resident_id)
        & (Booking.status == BookingStatus.CONFIRMED.value)
    )


async def _has_open_hold(session_id: int, resident_id: int) -> bool:
    return await Referral.exists().where(
        (Referral.session == session_id)
        & (Referral.resident == resident_id)
        & (Referral.status == ReferralStatus.CREATED.value)
        & (Referral.mode == ReferralMode.HOLD.value)
    )


async def _why_not_open(referral_id: int) -> BookingError:
    row = (
        await Referral.select(Referral.status, Referral.mode, Referral.session.status.as_alias("session_status"))
        .where(Referral.id == referral_id)
        .first()
    )
    if row is None:
        return ReferralNotFound()
    if row["session_status"] == SessionStatus.CANCELLED.value:
        return SessionCancelled()
    if row["status"] == ReferralStatus.ACCEPTED.value or row["mode"] == ReferralMode.BOOK.value:
        return ReferralAlreadyAccepted()
    if row["status"] == ReferralStatus.CANCELLED.value:
        return ReferralNotOpen()
    return ReferralHoldExpired()  # expired, or open but past its time and not yet swept


# --- Pages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralLinkView:
    """What the resident's confirm page shows."""

    id: int
    status: str  #: created | accepted | expired | cancelled; "expired" too when past its time, not yet swept
    mode: ReferralMode
    party_size: int
    expires_at: datetime | None
    partner_name: str
    session: SessionView


@dataclass(frozen=True)
class SessionChoice:
    id: int
    activity_title: str
    venue_name: str
    starts_at: datetime
    time_zone: str
    places_left: int


async def referral_link_view(referral_id: int, now: datetime) -> ReferralLinkView | None:
    row = (
        await Referral.select(
            Referral.id,
            Referral.status,
            Referral.mode,
            Referral.party_size,
            Referral.expires_at,
            Referral.session,
            Referral.partner.name.as_alias("partner_name"),
        )
        .where(Referral.id == referral_id)
        .first()
    )
    session = None if row is None else await get_session(row["session"])
    if session is None:
        return None
    status = row["status"]
    if status == ReferralStatus.CREATED.value and row["expires_at"] is not None and row["expires_at"] <= now:
        status = ReferralStatus.EXPIRED.value
    return ReferralLinkView(
        row["id"], status, ReferralMode(row["mode"]), row["party_size"], row["expires_at"], row["partner_name"], session
    )


@dataclass(frozen=True)
class SessionFilters:
    """The new-referral form's "Find a session" search, checked (``parse_session_filters``)."""

    text: str = ""  #: part of the activity's title, any case
    venue_id: int | None = None
    category: ActivityCategory | None = None
    date_from: date | None = None  #: the venue's local date


@dataclass(frozen=True)
class SessionChoices:
    sessions: list[SessionChoice]
    more: bool  #: more sessions matched than are shown: the search should be narrowed


#: The search form's fields, by name in the query string (and as hidden fields in the referral form).
FILTER_FIELDS = ("activity", "venue", "category", "from")


def parse_session_filters(params: Mapping[str, object]) -> tuple[SessionFilters, dict[str, str]]:
    """The search as typed; a value that cannot be used is left out, with a message keyed by field. Pure."""
    text = {name: str(params.get(name) or "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    venue_id = _whole_number(text["venue"]) if text["venue"] else None
    if text["venue"] and (venue_id is None or not 0 < venue_id <= MAX_ROW_ID):
        venue_id = None
        errors["venue"] = "Choose a venue from the list"
    category = None
    if text["category"]:
        try:
            category = ActivityCategory(text["category"])
        except ValueError:
            errors["category"] = "Choose a kind of activity from the list"
    date_from = None
    if text["from"]:
        try:
            date_from = date.fromisoformat(text["from"])
        except ValueError:
            errors["from"] = "Enter the date like 2027-03-03 (year, month, day)"
    filters = SessionFilters(text["activity"][:MAX_SEARCH_TEXT], venue_id, category, date_from)
    return filters, errors


async def referral_venue_choices() -> list[tuple[int, str]]:
    """(id, name) of every live venue, by name: the search form's venue list."""
    rows = await Venue.select(Venue.id, Venue.name).where(Venue.archived.eq(False)).order_by(Venue.name)
    return [(row["id"], row["name"]) for row in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _from_local_midnight(filters: SessionFilters):
    """Sessions on or after the from date at their own venue: local midnight in each venue time zone, as What's
    on does (booking/search.py), since SQLite has no time zones. One small read of the zones in use first."""
    if filters.date_from is None:
        return None
    query = Venue.select(Venue.time_zone).where(Venue.archived.eq(False)).distinct()
    if filters.venue_id is not None:
        query = query.where(Venue.id == filters.venue_id)
    zones = sorted(row["time_zone"] for row in await query)
    combined = WhereRaw("1 = 0")  # no venue, so no session
    for zone in zones:
        midnight = datetime.combine(filters.date_from, time(0), tzinfo=ZoneInfo(zone))
        combined = combined | ((Session.room.venue.time_zone == zone) & (Session.starts_at >= midnight))
    return combined


async def sessions_for_referral(
    now: datetime, filters: SessionFilters = SessionFilters(), limit: int = SESSIONS_SHOWN
) -> SessionChoices:
    """Scheduled sessions a link worker can refer to: not started, with places the public could book, matching
    the search; the soonest ``limit`` of them, in one query, and whether more matched."""
    where = [
        Session.status == SessionStatus.SCHEDULED.value,
        Session.starts_at > now,
        Session.room.venue.archived.eq(False),
        WhereRaw("session.booked + session.held < session.capacity"),
    ]
    if filters.text:
        where.append(
            WhereRaw(
                "session.activity IN (SELECT activity.id FROM activity WHERE LOWER(activity.title) LIKE LOWER({}) "
                "ESCAPE '\\')",
                f"%{_escape_like(filters.text)}%",
            )
        )
    if filters.venue_id is not None:
        where.append(Session.room.venue == filters.venue_id)
    if filters.category is not None:
        where.append(Session.activity.category == filters.category.value)
    from_date = await _from_local_midnight(filters)
    if from_date is not None:
        where.append(from_date)
    rows = (
        await Session.select(
            Session.id,
            Session.activity.title.as_alias("activity_title"),
            Session.room.venue.name.as_alias("venue_name"),
            Session.starts_at,
            Session.room.venue.time_zone.as_alias("time_zone"),
            Session.capacity,
            Session.booked,
            Session.held,
        )
        .where(*where)
        .order_by(Session.starts_at)
        .order_by(Session.id)
        .limit(limit + 1)
    )
    choices = [
        SessionChoice(
            row["id"],
            row["activity_title"],
            row["venue_name"],
            row["starts_at"],
            row["time_zone"],
            max(row["capacity"] - row["booked"] - row["held"], 0),
        )
        for row in rows[:limit]
    ]
    return SessionChoices(choices, more=len(rows) > limit)
