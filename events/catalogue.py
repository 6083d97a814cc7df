"""Every event type Commons publishes, with its typed, versioned data schema.

The outbox refuses data that does not match its type's schema, and consumers decode with ``parse``.
A breaking change to a type's data means a new version (and a new ``dataschema``), never an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec


class BookingConfirmed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    booking_id: int
    reference: str
    session_id: int
    resident_id: int
    party_size: int
    places_left: int


class BookingCancelled(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    booking_id: int
    reference: str
    session_id: int
    party_size: int
    places_left: int
    reason: str


class BookingWaitlisted(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    waitlist_entry_id: int
    session_id: int
    resident_id: int
    party_size: int
    position: int


class WaitlistOffered(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    offer_id: int
    waitlist_entry_id: int
    session_id: int
    resident_id: int
    party_size: int
    expires_at: str  #: ISO 8601, UTC


class WaitlistOfferClosed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An offer that expired or was declined: the next person in line is offered the places."""

    offer_id: int
    waitlist_entry_id: int
    session_id: int
    resident_id: int


class WaitlistOfferAccepted(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    offer_id: int
    waitlist_entry_id: int
    session_id: int
    resident_id: int
    booking_id: int
    reference: str


class SessionScheduled(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    session_id: int
    activity_id: int
    room_id: int
    starts_at: str  #: ISO 8601, UTC
    ends_at: str
    capacity: int


class SessionChanged(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    session_id: int
    starts_at: str
    ends_at: str
    room_id: int
    previous_starts_at: str
    previous_ends_at: str
    previous_room_id: int


class SessionCancelled(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    session_id: int
    message: str  #: staff's words to the residents
    booking_ids: list[int]  #: the confirmed bookings the cancellation ended (each resident is told once)
    waitlist_entry_ids: list[int]  #: the people who were waiting (told too; their places are gone)


class ReminderDue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    booking_id: int
    session_id: int
    reminder: str  #: which reminder, e.g. "24h"
    due_at: str  #: ISO 8601, UTC


class SignInRequested(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A resident asked for a "Find my bookings" link. Never carries the link: the worker builds it."""

    sign_in_link_id: int
    resident_id: int
    channel: str  #: email | sms: where the resident asked for it to be sent


class ResidentErased(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A resident deleted their data; consumers drop anything personal they keep about them."""

    resident_id: int


class AvailabilityChanged(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    session_id: int
    capacity: int
    booked: int
    places_left: int


class NotificationSent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    delivery_id: int
    event_id: str  #: the event the notification was about
    channel: str  #: email | sms
    template: str


class NotificationFailed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    delivery_id: int
    event_id: str
    channel: str
    template: str
    error: str
    permanent: bool  #: true: never retried


class StaffPasswordResetRequested(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    staff_link_id: int  #: the notification worker builds the link from the row; no secret travels here
    staff_member_id: int


class AttendanceMarked(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    booking_id: int
    session_id: int
    attendance: str  #: attended | no_show | unmarked (a tick taken back)


class ReferralCreated(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    referral_id: int
    partner_id: int
    session_id: int
    resident_id: int
    party_size: int
    mode: str  #: book | hold
    expires_at: str | None  #: hold: ISO 8601, UTC; book: null
    booking_id: int | None  #: book: the booking made; hold: null


class ReferralAccepted(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    referral_id: int
    partner_id: int
    session_id: int
    resident_id: int
    booking_id: int
    reference: str


class ReferralExpired(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    referral_id: int
    partner_id: int
    session_id: int
    resident_id: int
    party_size: int  #: the places given back


class ReferralCancelled(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    referral_id: int
    partner_id: int
    session_id: int
    resident_id: int
    party_size: int  #: the places given back
    booking_id: int | None  #: the booking cancelled with it (its booking.cancelled tells the resident); hold: null
    reason: str  #: the partner's reason, "" if none was given


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    data: type[msgspec.Struct]

    @property
    def dataschema(self) -> str:
        return f"urn:commons:event:{self.type}:v{self.version}"


EVENT_TYPES: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        EventSpec("booking.confirmed", 1, BookingConfirmed),
        EventSpec("booking.cancelled", 1, BookingCancelled),
        EventSpec("booking.waitlisted", 1, BookingWaitlisted),
        EventSpec("waitlist.offered", 1, WaitlistOffered),
        EventSpec("waitlist.offer_expired", 1, WaitlistOfferClosed),
        EventSpec("waitlist.offer_declined", 1, WaitlistOfferClosed),
        EventSpec("waitlist.offer_accepted", 1, WaitlistOfferAccepted),
        EventSpec("session.scheduled", 1, SessionScheduled),
        EventSpec("session.changed", 1, SessionChanged),
        EventSpec("session.cancelled", 1, SessionCancelled),
        EventSpec("reminder.due", 1, ReminderDue),
        EventSpec("availability.changed", 1, AvailabilityChanged),
        EventSpec("resident.sign_in_requested", 1, SignInRequested),
        EventSpec("resident.erased", 1, ResidentErased),
        EventSpec("staff.password_reset_requested", 1, StaffPasswordResetRequested),
        EventSpec("booking.attendance_marked", 1, AttendanceMarked),
        EventSpec("referral.created", 1, ReferralCreated),
        EventSpec("referral.accepted", 1, ReferralAccepted),
        EventSpec("referral.expired", 1, ReferralExpired),
        EventSpec("referral.cancelled", 1, ReferralCancelled),
        EventSpec("notification.sent", 1, NotificationSent),
        EventSpec("notification.failed", 1, NotificationFailed),
    )
}


class InvalidEventData(ValueError):
    """A programmer error: an unknown event type, or data that does not match the type's schema."""


def spec_for(event_type: str) -> EventSpec:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise InvalidEventData(f"unknown event type {event_type!r}; add it to events/catalogue.py") from None


def validate(event_type: str, data: dict[str, Any]) -> EventSpec:
    """Check ``data`` against the type's schema (every field, exact types, nothing extra)."""
    spec = spec_for(event_type)
    if not isinstance(data, dict):
        raise InvalidEventData(f"{event_type} data must be a dict, not {type(data).__name__}")
    try:
        msgspec.convert(data, spec.data, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidEventData(f"{event_type} v{spec.version}: {exc}") from exc
    return spec


def parse(event: dict[str, Any]) -> msgspec.Struct:
    """The typed data of a decoded envelope; raises ``InvalidEventData`` if it does not match."""
    spec = spec_for(event["type"])
    try:
        return msgspec.convert(event["data"], spec.data, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidEventData(f"{event['type']} v{spec.version}: {exc}") from exc
