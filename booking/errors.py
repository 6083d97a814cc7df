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


class PlacesAvailable(BookingError):
    code = "places_available"
    message = "There are places left on this session, so you can book it now instead of joining the waiting list."


class AlreadyOnWaitlist(BookingError):
    code = "already_on_waitlist"
    message = "You are already on the waiting list for this session. We will contact you if places come up."


class OfferNotFound(BookingError):
    code = "offer_not_found"
    message = "We could not find that offer. Check you used the whole link from your message."
    http_status = 404


class OfferExpired(BookingError):
    code = "offer_expired"
    message = "Sorry, this offer has run out, so the places have gone to the next person on the waiting list."


class OfferDeclined(BookingError):
    code = "offer_declined"
    message = "You have already turned down this offer, so the places have gone to the next person."


class OfferAlreadyAccepted(BookingError):
    code = "offer_already_accepted"
    message = "You have already accepted this offer. Check your email for your booking details."


# --- Changing the programme (staff) -----------------------------------------------------------


class ActivityNotFound(BookingError):
    code = "activity_not_found"
    message = "We could not find that activity. It may have been archived."
    http_status = 404


class RoomNotFound(BookingError):
    code = "room_not_found"
    message = "We could not find that room. It may have been archived."
    http_status = 404


class InvalidSessionTimes(BookingError):
    code = "invalid_session_times"
    message = "A session must end after it starts."
    http_status = 422


class InvalidCapacity(BookingError):
    code = "invalid_capacity"
    message = "A session needs at least one place."
    http_status = 422


class CapacityExceedsRoom(BookingError):
    code = "capacity_exceeds_room"
    message = "The room cannot hold that many people."


class CapacityBelowTaken(BookingError):
    code = "capacity_below_taken"
    message = "The capacity cannot be less than the places already booked or held for waiting-list offers."


class SessionChangedMeanwhile(BookingError):
    code = "session_changed_meanwhile"
    message = "Someone else changed this session at the same moment. Check its details and try again."


class RoomClash(BookingError):
    """The room is busy then. ``clashes``, ``next_free_at`` and ``free_rooms`` come from booking/clashes.py."""

    code = "room_clash"
    message = "The room is already booked for another session at that time."

    def __init__(self, message: str | None = None, *, clashes=(), next_free_at=None, free_rooms=()) -> None:
        super().__init__(message)
        self.clashes = tuple(clashes)
        self.next_free_at = next_free_at
        self.free_rooms = tuple(free_rooms)


class SeriesClash(BookingError):
    """Some occurrences of a new or moved series clash; ``occurrences`` lists every one, nothing was saved."""

    code = "series_clash"
    message = "Some of the sessions clash with others already in the room. Nothing has been saved."

    def __init__(self, message: str | None = None, *, occurrences=()) -> None:
        super().__init__(message)
        self.occurrences = tuple(occurrences)


class InvalidSeries(BookingError):
    code = "invalid_series"
    message = "Those repeat settings do not make a series."
    http_status = 422


class SeriesNotFound(BookingError):
    code = "series_not_found"
    message = "We could not find that series."
    http_status = 404


# --- Booking rules per activity (booking/rules.py) ----------------------------------------------


class BookingNotOpenYet(BookingError):
    code = "booking_not_open_yet"
    message = "Booking for this session has not opened yet."


class BookingClosed(BookingError):
    code = "booking_closed"
    message = "Booking for this session has closed."


class TooManyActiveBookings(BookingError):
    code = "too_many_active_bookings"
    message = "You already have the most upcoming bookings anyone can have for this activity."


class IdempotencyKeyReused(BookingError):
    code = "idempotency_key_reused"
    message = "This booking form was already used for a different session. Go back to the session and try again."
    http_status = 422
