"""Named domain errors, each with a plain-English message a resident can act on."""

from __future__ import annotations


class BookingError(Exception):
    """Base for every rule a booking can break. ``code`` is stable; ``message`` is for people."""

    code = "booking_error"
    message = "Sorry, we could not complete that booking."
    http_status = 409

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class SessionNotFound(BookingError):
    code = "session_not_found"
    message = "We could not find that session. It may have been removed."
    http_status = 404


class SessionFull(BookingError):
    code = "session_full"
    message = "Sorry, there are not enough places left on this session."


class SessionCancelled(BookingError):
    code = "session_cancelled"
    message = "This session has been cancelled, so it cannot be booked."


class SessionStarted(BookingError):
    code = "session_started"
    message = "This session has already started, so it can no longer be booked."


class AlreadyBooked(BookingError):
    code = "already_booked"
    message = "You already have a booking for this session. Check your email for the details."


class InvalidPartySize(BookingError):
    code = "invalid_party_size"
    message = "Enter how many places you need."
    http_status = 422


class BookingNotFound(BookingError):
    code = "booking_not_found"
    message = "We could not find that booking."
    http_status = 404


class BookingAlreadyCancelled(BookingError):
    code = "already_cancelled"
    message = "This booking has already been cancelled."
