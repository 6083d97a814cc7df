"""Booking rules per activity: pure functions, each broken rule with its own polite, specific message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.errors import BookingClosed, BookingNotOpenYet, InvalidPartySize, TooManyActiveBookings
from booking.rules import (
    WindowState,
    booking_window,
    check_active_bookings,
    check_booking_window,
    check_party_size,
    describe_rules,
)

# Tuesday 3 March 2026, 10:30am in London (GMT, so 10:30 UTC).
START = datetime(2026, 3, 3, 10, 30, tzinfo=UTC)


def window_check(now: datetime, *, opens_days: int = 7, closes_hours: int = 1, phone: str = "") -> None:
    check_booking_window(
        START, now, opens_days=opens_days, closes_hours=closes_hours, time_zone="Europe/London", venue_phone=phone
    )


def test_booking_opens_n_days_before_in_the_venues_time():
    with pytest.raises(BookingNotOpenYet) as refused:
        window_check(START - timedelta(days=7, seconds=1))
    assert refused.value.message == "Booking for this session opens on Tuesday 24 February at 10:30am."
    window_check(START - timedelta(days=7))  # open from that moment


def test_the_opening_time_is_local_in_summer():
    summer = datetime(2026, 7, 7, 9, 30, tzinfo=UTC)  # 10:30am BST
    with pytest.raises(BookingNotOpenYet) as refused:
        check_booking_window(
            summer, summer - timedelta(days=10), opens_days=7, closes_hours=1, time_zone="Europe/London"
        )
    assert refused.value.message == "Booking for this session opens on Tuesday 30 June at 10:30am."


def test_booking_closes_m_hours_before_with_the_venues_phone():
    with pytest.raises(BookingClosed) as refused:
        window_check(START - timedelta(minutes=59), phone="01543 123456")
    assert refused.value.message == (
        "Booking for this session closed at 9:30am on Tuesday 3 March, 1 hour before it starts. "
        "Contact the venue on 01543 123456 if you still want to come."
    )
    window_check(START - timedelta(hours=1, seconds=1))  # still open just before


def test_booking_closed_without_a_phone_and_with_hours():
    with pytest.raises(BookingClosed) as refused:
        window_check(START - timedelta(hours=2), closes_hours=3)
    assert refused.value.message == (
        "Booking for this session closed at 7:30am on Tuesday 3 March, 3 hours before it starts. "
        "Contact the venue if you still want to come."
    )


def test_the_window_states():
    window = booking_window(START, opens_days=2, closes_hours=0)
    assert window.state(START - timedelta(days=3)) is WindowState.NOT_OPEN_YET
    assert window.state(START - timedelta(hours=1)) is WindowState.OPEN
    assert window.state(START) is WindowState.CLOSED


def test_active_bookings_limit():
    check_active_bookings(1, 2, "Chair yoga")
    check_active_bookings(10, 0, "Chair yoga")  # 0: no limit
    with pytest.raises(TooManyActiveBookings) as refused:
        check_active_bookings(2, 2, "Chair yoga")
    assert refused.value.message == (
        "You already have 2 upcoming bookings for Chair yoga, which is the most anyone can have at once. "
        "You can cancel one of them to book this session."
    )


def test_active_bookings_limit_of_one():
    with pytest.raises(TooManyActiveBookings) as refused:
        check_active_bookings(1, 1, "Job club")
    assert refused.value.message == (
        "You already have 1 upcoming booking for Job club, which is the most anyone can have at once. "
        "You can cancel it to book this session."
    )


@pytest.mark.parametrize("size", [0, 5, -1, True, "2", None])
def test_party_size_limit_keeps_its_message(size):
    with pytest.raises(InvalidPartySize) as refused:
        check_party_size(size, 4)
    assert refused.value.message == "You can book between 1 and 4 places for this activity."


def test_rules_in_plain_words():
    assert describe_rules(max_party_size=4, opens_days=28, closes_hours=1, max_active_bookings=2) == [
        "You can book up to 4 places.",
        "Booking opens 28 days before the session and closes 1 hour before it starts.",
        "Each person can have 2 upcoming bookings for this activity at a time.",
    ]
    assert describe_rules(max_party_size=1, opens_days=1, closes_hours=0, max_active_bookings=0) == [
        "You can book up to 1 place.",
        "Booking opens 1 day before the session and closes when the session starts.",
    ]
