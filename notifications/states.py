"""Named states and names for the notification queue: never magic strings in the rest of the code."""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class MessageStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting for its send time (quiet hours) or its next try (back-off)
    SENDING = "sending"  #: claimed by a sender until ``claimed_until``
    SENT = "sent"
    FAILED = "failed"  #: a permanent failure, or out of tries: never sent again
    CANCELLED = "cancelled"  #: no longer wanted (the booking was cancelled, the resident opted out)


class DeliveryStatus(enum.StrEnum):
    SENT = "sent"
    FAILED = "failed"


class Template(enum.StrEnum):
    """What a message says; each has e-mail and text templates of the same name."""

    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELLED = "booking_cancelled"
    WAITLIST_JOINED = "waitlist_joined"
    OFFER_MADE = "offer_made"
    OFFER_EXPIRED = "offer_expired"
    SESSION_CHANGED = "session_changed"
    SESSION_CANCELLED = "session_cancelled"
    REMINDER = "reminder"
    SIGN_IN_LINK = "sign_in_link"
    STAFF_PASSWORD_RESET = "staff_password_reset"  #: e-mail only: staff are never texted
    REFERRAL_CREATED = "referral_created"  #: a partner referred the resident: confirm a held place, or booked
    REFERRAL_ACCEPTED = "referral_accepted"  #: the resident confirmed a held place: it is booked
    REFERRAL_EXPIRED = "referral_expired"  #: the held place was not confirmed in time
    REFERRAL_CANCELLED = "referral_cancelled"  #: the partner cancelled the held place (a booking: booking_cancelled)
