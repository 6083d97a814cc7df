"""Booking rules per activity, as pure functions of plain values and ``now``. Each broken rule raises a
named error (booking/errors.py) with its own polite, specific message.

``book_place`` checks them inside its transaction; the session page uses them to explain, before anyone
fills in the form, when booking opens or why it has closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from booking.errors import BookingClosed, BookingNotOpenYet, InvalidPartySize, TooManyActiveBookings
from booking.timefmt import format_date, format_time, to_local


class WindowState(str, Enum):
    NOT_OPEN_YET = "not_open_yet"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class BookingWindow:
    opens_at: datetime
    closes_at: datetime

    def state(self, now: datetime) -> WindowState:
        if now < self.opens_at:
            return WindowState.NOT_OPEN_YET
        if now >= self.closes_at:
            return WindowState.CLOSED
        return WindowState.OPEN


def booking_window(starts_at: datetime, *, opens_days: int, closes_hours: int) -> BookingWindow:
    """Booking opens ``opens_days`` days before the start and closes ``closes_hours`` hours before it."""
    return BookingWindow(
        opens_at=starts_at - timedelta(days=max(opens_days, 0)),
        closes_at=starts_at - timedelta(hours=max(closes_hours, 0)),
    )


def _hours(count: int) -> str:
    return "1 hour" if count == 1 else f"{count} hours"


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def not_open_yet_message(window: BookingWindow, time_zone: str) -> str:
    """ "Booking for this session opens on Tuesday 3 March at 10:30am." (the venue's time)."""
    local = to_local(window.opens_at, time_zone)
    return f"Booking for this session opens on {format_date(local.date())} at {format_time(local)}."


def closed_message(window: BookingWindow, time_zone: str, *, closes_hours: int, venue_phone: str = "") -> str:
    local = to_local(window.closes_at, time_zone)
    when = "when it started" if closes_hours <= 0 else f"{_hours(closes_hours)} before it starts"
    contact = f"Contact the venue on {venue_phone}" if venue_phone.strip() else "Contact the venue"
    return (
        f"Booking for this session closed at {format_time(local)} on {format_date(local.date())}, {when}. "
        f"{contact} if you still want to come."
    )


def check_booking_window(
    starts_at: datetime,
    now: datetime,
    *,
    opens_days: int,
    closes_hours: int,
    time_zone: str,
    venue_phone: str = "",
) -> None:
    """Raise ``BookingNotOpenYet`` or ``BookingClosed`` unless ``now`` is inside the booking window."""
    window = booking_window(starts_at, opens_days=opens_days, closes_hours=closes_hours)
    state = window.state(now)
    if state is WindowState.NOT_OPEN_YET:
        raise BookingNotOpenYet(not_open_yet_message(window, time_zone))
    if state is WindowState.CLOSED:
        raise BookingClosed(closed_message(window, time_zone, closes_hours=closes_hours, venue_phone=venue_phone))


def check_party_size(party_size: object, max_party_size: int) -> None:
    if isinstance(party_size, bool) or not isinstance(party_size, int) or not 1 <= party_size <= max_party_size:
        raise InvalidPartySize(f"You can book between 1 and {max_party_size} places for this activity.")


def check_active_bookings(active: int, limit: int, activity_title: str) -> None:
    """``limit`` upcoming confirmed bookings per person for one activity; 0 means no limit."""
    if limit <= 0 or active < limit:
        return
    bookings = "1 upcoming booking" if active == 1 else f"{active} upcoming bookings"
    which = "it" if active == 1 else "one of them"
    raise TooManyActiveBookings(
        f"You already have {bookings} for {activity_title}, which is the most anyone can have at once. "
        f"You can cancel {which} to book this session."
    )


def describe_rules(*, max_party_size: int, opens_days: int, closes_hours: int, max_active_bookings: int) -> list[str]:
    """The activity's rules in plain words, for the session page."""
    places = "1 place" if max_party_size == 1 else f"{max_party_size} places"
    rules = [f"You can book up to {places}."]
    closes = "when the session starts" if closes_hours <= 0 else f"{_hours(closes_hours)} before it starts"
    rules.append(f"Booking opens {_days(opens_days)} before the session and closes {closes}.")
    if max_active_bookings > 0:
        bookings = "1 upcoming booking" if max_active_bookings == 1 else f"{max_active_bookings} upcoming bookings"
        rules.append(f"Each person can have {bookings} for this activity at a time.")
    return rules


class InvalidReminderHours(ValueError):
    """An activity's ``reminder_hours`` is not a comma-separated list of whole hours, e.g. "24,2"."""


def parse_reminder_hours(text: str) -> list[int]:
    """The hours before the start, largest (earliest reminder) first, without duplicates."""
    try:
        hours = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise InvalidReminderHours(f"reminder hours must be whole numbers like '24,2' (got {text!r})") from None
    if any(hour < 1 for hour in hours):
        raise InvalidReminderHours(f"reminder hours must be 1 or more (got {text!r})")
    return sorted(hours, reverse=True)
