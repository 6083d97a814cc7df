from datetime import datetime, timezone

import pytest

from booking.timefmt import format_time, format_when


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_winter_session_shows_greenwich_time():
    assert format_when(utc(2026, 3, 3, 10, 30), utc(2026, 3, 3, 11, 30), "Europe/London") == (
        "Tuesday 3 March, 10:30am to 11:30am"
    )


def test_summer_session_shows_british_summer_time():
    # 09:30 UTC is 10:30 BST
    assert format_when(utc(2026, 7, 7, 9, 30), utc(2026, 7, 7, 10, 30), "Europe/London") == (
        "Tuesday 7 July, 10:30am to 11:30am"
    )


def test_session_across_the_clocks_going_back_keeps_its_real_length():
    # 25 October 2026: clocks go back at 02:00 BST -> 01:00 GMT. 00:30 UTC is 01:30 BST; 02:30 UTC is 02:30 GMT.
    assert format_when(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30), "Europe/London") == (
        "Sunday 25 October, 1:30am to 2:30am"
    )


@pytest.mark.parametrize(
    ("hour", "minute", "text"),
    [(12, 0, "12 noon"), (0, 0, "12 midnight"), (14, 0, "2pm"), (9, 5, "9:05am"), (23, 45, "11:45pm")],
)
def test_times_in_plain_words(hour, minute, text):
    assert format_time(datetime(2026, 1, 1, hour, minute)) == text


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        format_when(datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11), "Europe/London")
