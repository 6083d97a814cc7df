"""A resident's own data: what we hold, their contact choices, and deleting it ("Your data").

Erasure keeps bookings for statistics (how many places, which sessions, when) but nothing that says
who made them: the name, e-mail, phone, support notes and cancellation reasons go, sign-in links are
deleted and manage links revoked. ``resident.erased`` tells the notification worker to drop anything
it still holds for them. Messages already sent stay in the delivery log until it is pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from booking.audit import erase_resident_from_audit
from booking.clock import FixedClock
from booking.errors import BookingAlreadyCancelled, OfferAlreadyAccepted, OfferDeclined, OfferExpired, OfferNotFound
from booking.errors import SessionCancelled as SessionCancelledError
from booking.referrals import cancel_resident_holds, erase_referral_notes
from booking.service import cancel_booking
from booking.states import ACTIVE_WAITLIST_STATUSES, BookingStatus, WaitlistEntryStatus, WaitlistOfferStatus
from booking.tables import Booking, Resident, SignInLink, WaitlistEntry, WaitlistOffer
from booking.timefmt import format_when
from booking.validation import is_ticked
from booking.waitlist import decline_offer_by_hash
from commons.db import write_transaction
from events.outbox import record_event

ERASED_NAME = "Deleted resident"
ERASURE_REASON = "Resident deleted their data"


# --- What we hold ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResidentSummary:
    """What the "Your data" page shows at a glance."""

    id: int
    name: str
    email: str | None
    phone: str | None
    contact_by_email: bool
    contact_by_sms: bool
    sms_consent_at: datetime | None
    sms_opted_out_at: datetime | None
    email_opted_out_at: datetime | None
    created_at: datetime
    bookings: int
    upcoming_bookings: int
    waitlist_places: int  #: entries still waiting or holding an offer

    @property
    def takes_texts(self) -> bool:
        return _takes_texts(self.phone, self.contact_by_sms, self.sms_consent_at, self.sms_opted_out_at)

    @property
    def takes_email(self) -> bool:
        return bool(self.email) and self.contact_by_email and self.email_opted_out_at is None


def _takes_texts(phone: str | None, by_sms: bool, consent_at: datetime | None, opted_out_at: datetime | None) -> bool:
    """As notifications/recipients.py: a number, the choice, recorded consent, and no STOP since."""
    return bool(phone) and by_sms and consent_at is not None and opted_out_at is None


_RESIDENT_COLUMNS = (
    Resident.id,
    Resident.name,
    Resident.email,
    Resident.phone,
    Resident.contact_by_email,
    Resident.contact_by_sms,
    Resident.sms_consent_at,
    Resident.sms_opted_out_at,
    Resident.email_opted_out_at,
    Resident.created_at,
)


async def _resident_row(resident_id: int) -> dict | None:
    return (
        await Resident.select(*_RESIDENT_COLUMNS)
        .where((Resident.id == resident_id) & Resident.erased_at.is_null())
        .first()
    )


async def resident_summary(resident_id: int, *, now: datetime | None = None) -> ResidentSummary | None:
    """None when there is no such resident or their data has been deleted."""
    now = now or datetime.now(timezone.utc)
    row = await _resident_row(resident_id)
    if row is None:
        return None
    bookings = await Booking.count().where(Booking.resident == resident_id)
    upcoming = await Booking.count().where(
        (Booking.resident == resident_id)
        & (Booking.status == BookingStatus.CONFIRMED.value)
        & (Booking.session.starts_at > now)
    )
    waiting = await WaitlistEntry.count().where(
        (WaitlistEntry.resident == resident_id) & WaitlistEntry.status.is_in(list(ACTIVE_WAITLIST_STATUSES))
    )
    return ResidentSummary(**row, bookings=bookings, upcoming_bookings=upcoming, waitlist_places=waiting)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _session_fields(session: Any) -> list[Any]:
    """The columns that say which session a booking or waiting-list entry is for, through its foreign key."""
    return [
        session.starts_at.as_alias("starts_at"),
        session.ends_at.as_alias("ends_at"),
        session.status.as_alias("session_status"),
        session.activity.title.as_alias("activity"),
        session.room.venue.name.as_alias("venue"),
        session.room.venue.time_zone.as_alias("time_zone"),
    ]


async def export_resident_data(resident_id: int) -> dict[str, Any] | None:
    """Everything the booking side holds about a resident, as plain JSON-ready values.

    Internal secrets (manage-token hashes, sign-in nonces, offer token hashes) are never included:
    they say nothing about the resident and would only weaken the links they protect.
    """
    row = await _resident_row(resident_id)
    if row is None:
        return None
    bookings = await (
        Booking.select(
            Booking.reference,
            Booking.session.as_alias("session_id"),
            *_session_fields(Booking.session),
            Booking.party_size,
            Booking.status,
            Booking.source,
            Booking.created_at,
            Booking.cancelled_at,
            Booking.cancel_reason,
            Booking.support_note,
        )
        .where(Booking.resident == resident_id)
        .order_by(Booking.created_at)
    )
    entries = await (
        WaitlistEntry.select(
            WaitlistEntry.id,
            WaitlistEntry.session.as_alias("session_id"),
            *_session_fields(WaitlistEntry.session),
            WaitlistEntry.party_size,
            WaitlistEntry.status,
            WaitlistEntry.created_at,
        )
        .where(WaitlistEntry.resident == resident_id)
        .order_by(WaitlistEntry.created_at)
    )
    offers = await (
        WaitlistOffer.select(
            WaitlistOffer.entry.as_alias("waitlist_entry_id"),
            WaitlistOffer.party_size,
            WaitlistOffer.status,
            WaitlistOffer.offered_at,
            WaitlistOffer.expires_at,
            WaitlistOffer.decided_at,
        )
        .where(WaitlistOffer.entry.resident == resident_id)
        .order_by(WaitlistOffer.offered_at)
    )
    links = await (
        SignInLink.select(SignInLink.channel, SignInLink.created_at, SignInLink.expires_at, SignInLink.used_at)
        .where(SignInLink.resident == resident_id)
        .order_by(SignInLink.created_at)
    )
    return {
        "resident": {
            "name": row["name"],
            "email": row["email"],
            "mobile": row["phone"],
            "contact_by_email": row["contact_by_email"],
            "contact_by_text": row["contact_by_sms"],
            "first_booked_at": _iso(row["created_at"]),
        },
        "consent": {
            "texts_consent_given_at": _iso(row["sms_consent_at"]),
            "texts_consent_withdrawn_at": _iso(row["sms_opted_out_at"]),
            "emails_stopped_at": _iso(row["email_opted_out_at"]),
        },
        "bookings": [_with_session(b, _plain(b, "reference", "party_size", "status", "source")) for b in bookings],
        "waiting_list": [
            _with_session(e, {"id": e["id"], "party_size": e["party_size"], "status": e["status"]}) for e in entries
        ],
        "waiting_list_offers": [
            {
                "waitlist_entry_id": o["waitlist_entry_id"],
                "party_size": o["party_size"],
                "status": o["status"],
                "offered_at": _iso(o["offered_at"]),
                "expires_at": _iso(o["expires_at"]),
                "decided_at": _iso(o["decided_at"]),
            }
            for o in offers
        ],
        "sign_in_links": [
            {
                "sent_by": link["channel"],
                "created_at": _iso(link["created_at"]),
                "expires_at": _iso(link["expires_at"]),
                "used_at": _iso(link["used_at"]),
            }
            for link in links
        ],
    }


def _plain(row: dict, *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}


def _with_session(row: dict, fields: dict[str, Any]) -> dict[str, Any]:
    """Add the session's activity, venue and time (in words and ISO 8601) to an exported row."""
    extra: dict[str, Any] = {
        "session_id": row["session_id"],
        "activity": row["activity"],
        "venue": row["venue"],
        "when": format_when(row["starts_at"], row["ends_at"], row["time_zone"], with_year=True),
        "starts_at": _iso(row["starts_at"]),
        "session_status": row["session_status"],
    }
    for name in ("created_at", "cancelled_at"):
        if name in row:
            extra[name] = _iso(row[name])
    for name in ("cancel_reason", "support_note"):
        if name in row:
            extra[name] = row[name] or ""
    return {**fields, **extra}


# --- Contact preferences -----------------------------------------------------------------------


@dataclass(frozen=True)
class PreferenceChoice:
    by_email: bool
    by_text: bool


def read_preferences(form: dict[str, Any], summary: ResidentSummary) -> tuple[PreferenceChoice, dict[str, str]]:
    """What the resident ticked, and a message per field that cannot be honoured. Pure.

    Ticking "by text" is the explicit consent (the box is never ticked for them); a channel needs an
    address on record. Choosing neither is allowed: the page says what that means.
    """
    choice = PreferenceChoice(by_email=is_ticked(form.get("by_email")), by_text=is_ticked(form.get("by_text")))
    errors: dict[str, str] = {}
    if choice.by_email and not summary.email:
        errors["by_email"] = "We do not have an email address for you, so we cannot send you emails"
    if choice.by_text and not summary.phone:
        errors["by_text"] = (
            "We do not have a mobile number for you, so we cannot send you texts. "
            "Give a mobile number when you next book"
        )
    return choice, errors


@dataclass(frozen=True)
class PreferenceChange:
    emails_stopped: bool
    texts_stopped: bool
    texts_started: bool
    phone: str | None  #: the number texts were stopped for, so pending texts to it can be cancelled


async def change_contact_preferences(resident_id: int, choice: PreferenceChoice, *, now: datetime) -> PreferenceChange:
    """Record the resident's choice. Texts on records consent now; texts off withdraws it.

    The same meaning as a reply of STOP or an e-mail's unsubscribe link (notifications/preferences.py);
    the caller cancels messages still queued for a channel that was stopped.
    """
    async with write_transaction(Resident._meta.db):
        row = await _resident_row(resident_id)
        if row is None:
            return PreferenceChange(False, False, False, None)
        values: dict[Any, Any] = {}
        had_email = bool(row["email"]) and row["contact_by_email"] and row["email_opted_out_at"] is None
        had_texts = _takes_texts(row["phone"], row["contact_by_sms"], row["sms_consent_at"], row["sms_opted_out_at"])
        wants_email = choice.by_email and bool(row["email"])
        wants_texts = choice.by_text and bool(row["phone"])
        if wants_email and not had_email:
            values.update({Resident.contact_by_email: True, Resident.email_opted_out_at: None})
        elif not wants_email and had_email:
            values.update({Resident.contact_by_email: False, Resident.email_opted_out_at: now})
        if wants_texts and not had_texts:
            values.update(
                {Resident.contact_by_sms: True, Resident.sms_consent_at: now, Resident.sms_opted_out_at: None}
            )
        elif not wants_texts and had_texts:
            values.update(
                {Resident.contact_by_sms: False, Resident.sms_consent_at: None, Resident.sms_opted_out_at: now}
            )
        if values:
            await Resident.update(values).where(Resident.id == resident_id)
    return PreferenceChange(
        emails_stopped=had_email and not wants_email,
        texts_stopped=had_texts and not wants_texts,
        texts_started=wants_texts and not had_texts,
        phone=row["phone"],
    )


# --- Deleting a resident's data ----------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    erased: bool  #: False when there was nothing to do (already erased, or no such resident)
    cancelled_references: list[str]
    offers_declined: int
    waitlist_entries_removed: int


async def erase_resident(resident_id: int, *, now: datetime | None = None) -> Erasure:
    """Delete what identifies a resident; keep their bookings, anonymous, for statistics. Idempotent.

    Upcoming bookings are cancelled (their places offered to others), open offers declined (passed to
    the next in line) and waiting-list places removed, each through its own use case and events.
    """
    now = now or datetime.now(timezone.utc)
    if await _resident_row(resident_id) is None:
        return Erasure(False, [], 0, 0)
    cancelled = await _cancel_upcoming_bookings(resident_id, now)
    declined = await _decline_open_offers(resident_id, now)
    async with write_transaction(Resident._meta.db):
        rows = await Resident.raw(
            "UPDATE resident SET name = {}, email = NULL, phone = NULL, contact_by_email = {}, contact_by_sms = {}, "
            "sms_consent_at = NULL, sms_opted_out_at = NULL, email_opted_out_at = NULL, erased_at = {} "
            "WHERE id = {} AND erased_at IS NULL RETURNING id",
            ERASED_NAME,
            False,
            False,
            now,
            resident_id,
        )
        if not rows:
            return Erasure(False, cancelled, declined, 0)  # erased by a concurrent request
        removed = await WaitlistEntry.raw(
            "UPDATE waitlist_entry SET status = {} WHERE resident = {} AND status IN ({}, {}) RETURNING id",
            WaitlistEntryStatus.REMOVED.value,
            resident_id,
            *ACTIVE_WAITLIST_STATUSES,
        )
        # An empty manage-token hash revokes every manage link, random or signed (booking/manage_links.py).
        await Booking.update(
            {Booking.support_note: "", Booking.cancel_reason: "", Booking.manage_token_hash: ""}
        ).where(Booking.resident == resident_id)
        await SignInLink.delete().where(SignInLink.resident == resident_id)
        await cancel_resident_holds(resident_id, now)  # nobody is left to confirm them: the places go back
        await erase_referral_notes(resident_id)
        await erase_resident_from_audit(resident_id)
        await record_event("resident.erased", {"resident_id": resident_id})
    return Erasure(True, cancelled, declined, len(removed))


async def _cancel_upcoming_bookings(resident_id: int, now: datetime) -> list[str]:
    rows = await Booking.select(Booking.reference).where(
        (Booking.resident == resident_id)
        & (Booking.status == BookingStatus.CONFIRMED.value)
        & (Booking.session.starts_at > now)
    )
    cancelled = []
    for row in rows:
        try:
            await cancel_booking(row["reference"], authorised=True, reason=ERASURE_REASON, now=now)
        except BookingAlreadyCancelled:
            continue  # cancelled meanwhile (by the resident in another tab, or by staff)
        cancelled.append(row["reference"])
    return cancelled


async def _decline_open_offers(resident_id: int, now: datetime) -> int:
    """Turn down open offers, so their held places go to the next people in line at once."""
    rows = await WaitlistOffer.select(WaitlistOffer.token_hash).where(
        (WaitlistOffer.entry.resident == resident_id) & (WaitlistOffer.status == WaitlistOfferStatus.OPEN.value)
    )
    declined = 0
    for row in rows:
        try:
            await decline_offer_by_hash(row["token_hash"], FixedClock(now))
        except (OfferExpired, OfferNotFound, OfferAlreadyAccepted, OfferDeclined, SessionCancelledError):
            continue  # closed meanwhile; an expired one is released by the expiry sweep
        declined += 1
    return declined


__all__ = [
    "ERASED_NAME",
    "Erasure",
    "PreferenceChange",
    "PreferenceChoice",
    "ResidentSummary",
    "change_contact_preferences",
    "erase_resident",
    "export_resident_data",
    "read_preferences",
    "resident_summary",
]
