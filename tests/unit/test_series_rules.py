"""Occurrences of a series: RRULE in the venue's local time, stored in UTC. Pure: no database."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from booking.errors import InvalidSeries
from booking.series import (
    MAX_OCCURRENCES,
    Frequency,
    Repeat,
    describe_repeat,
    monthly_position,
    occurrence_days,
    occurrence_times,
    rule_text,
)

LONDON = "Europe/London"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_weekly_stays_at_ten_am_local_across_the_october_clock_change():
    times = occurrence_times(date(2027, 10, 19), time(10), 60, Repeat(Frequency.WEEKLY, count=3), LONDON)

    assert times == [
        (utc(2027, 10, 19, 9), utc(2027, 10, 19, 10)),  # BST: 10am is 9am UTC
        (utc(2027, 10, 26, 9), utc(2027, 10, 26, 10)),
        (utc(2027, 11, 2, 10), utc(2027, 11, 2, 11)),  # GMT after 31 October: 10am is 10am UTC
    ]


def test_weekly_stays_at_ten_am_local_across_the_march_clock_change():
    starts = [start for start, _ in occurrence_times(date(2027, 3, 23), time(10), 90, Repeat(Frequency.WEEKLY, count=2), LONDON)]

    assert starts == [utc(2027, 3, 23, 10), utc(2027, 3, 30, 9)]


def test_fortnightly_is_every_other_week():
    days = occurrence_days(date(2027, 1, 5), Repeat(Frequency.FORTNIGHTLY, count=3))

    assert days == [date(2027, 1, 5), date(2027, 1, 19), date(2027, 2, 2)]
    assert rule_text(date(2027, 1, 5), Repeat(Frequency.FORTNIGHTLY, count=3)) == "FREQ=WEEKLY;INTERVAL=2;COUNT=3"
    assert describe_repeat(date(2027, 1, 5), Frequency.FORTNIGHTLY) == "Every other Tuesday"


def test_monthly_is_the_same_weekday_of_the_month():
    # Tuesday 9 March 2027 is the second Tuesday of March.
    days = occurrence_days(date(2027, 3, 9), Repeat(Frequency.MONTHLY, count=3))

    assert days == [date(2027, 3, 9), date(2027, 4, 13), date(2027, 5, 11)]
    assert rule_text(date(2027, 3, 9), Repeat(Frequency.MONTHLY, count=3)) == "FREQ=MONTHLY;INTERVAL=1;BYDAY=+2TU;COUNT=3"
    assert describe_repeat(date(2027, 3, 9), Frequency.MONTHLY) == "The second Tuesday of each month"


def test_a_fifth_weekday_becomes_the_last_of_each_month():
    assert monthly_position(date(2027, 3, 30)) == -1  # the fifth Tuesday of March 2027
    days = occurrence_days(date(2027, 3, 30), Repeat(Frequency.MONTHLY, count=2))

    assert days == [date(2027, 3, 30), date(2027, 4, 27)]


def test_skipped_dates_are_left_out_and_count_towards_the_number():
    bank_holiday = date(2027, 5, 31)
    days = occurrence_days(date(2027, 5, 24), Repeat(Frequency.WEEKLY, count=3, skipped=frozenset({bank_holiday})))

    assert days == [date(2027, 5, 24), date(2027, 6, 7)]


def test_an_end_date_includes_a_session_on_that_date():
    days = occurrence_days(date(2027, 1, 4), Repeat(Frequency.WEEKLY, until=date(2027, 1, 25)))

    assert days == [date(2027, 1, 4), date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 25)]
    assert rule_text(date(2027, 1, 4), Repeat(Frequency.WEEKLY, until=date(2027, 1, 25))).endswith("UNTIL=20270125T235959")


@pytest.mark.parametrize(
    ("repeat", "message"),
    [
        (Repeat(Frequency.WEEKLY), "Give either the number of sessions or the date of the last one."),
        (Repeat(Frequency.WEEKLY, count=3, until=date(2027, 2, 1)), "Give either the number of sessions or the date of the last one."),
        (Repeat(Frequency.WEEKLY, count=0), f"The number of sessions must be between 1 and {MAX_OCCURRENCES}."),
        (Repeat(Frequency.WEEKLY, count=MAX_OCCURRENCES + 1), f"The number of sessions must be between 1 and {MAX_OCCURRENCES}."),
        (Repeat(Frequency.WEEKLY, until=date(2026, 12, 31)), "The last date must be on or after the first."),
        (Repeat(Frequency.WEEKLY, until=date(2031, 1, 1)), f"A series can have at most {MAX_OCCURRENCES} dates. Choose an earlier end date or fewer sessions."),
        (Repeat(Frequency.WEEKLY, count=1, skipped=frozenset({date(2027, 1, 4)})), "Every date in the series is skipped, so there would be no sessions."),
    ],
)
def test_impossible_repeats_are_refused_in_plain_english(repeat, message):
    with pytest.raises(InvalidSeries) as refused:
        occurrence_days(date(2027, 1, 4), repeat)

    assert refused.value.message == message


def test_the_cap_allows_exactly_the_maximum():
    assert len(occurrence_days(date(2027, 1, 4), Repeat(Frequency.WEEKLY, count=MAX_OCCURRENCES))) == MAX_OCCURRENCES
