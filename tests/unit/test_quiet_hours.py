"""No texts 21:00–08:00 venue time; held texts go at 08:00 local, across daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from notifications.quiet_hours import next_allowed_send_time


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "now",
    [
        utc(2026, 1, 15, 8, 0),  # 08:00 GMT: the first allowed minute
        utc(2026, 1, 15, 12, 30),
        utc(2026, 1, 15, 20, 59, 59),  # just before 21:00 GMT
        utc(2026, 7, 15, 7, 0),  # 08:00 BST
        utc(2026, 7, 15, 19, 59),  # 20:59 BST
    ],
)
def test_outside_quiet_hours_sends_now(now):
    assert next_allowed_send_time(now) == now


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 1, 15, 21, 0), utc(2026, 1, 16, 8, 0)),  # 21:00 GMT: quiet from the first second
        (utc(2026, 1, 15, 23, 45), utc(2026, 1, 16, 8, 0)),
        (utc(2026, 1, 16, 3, 0), utc(2026, 1, 16, 8, 0)),  # after midnight: this morning
        (utc(2026, 1, 16, 7, 59, 59), utc(2026, 1, 16, 8, 0)),
        (utc(2026, 7, 15, 20, 0), utc(2026, 7, 16, 7, 0)),  # 21:00 BST -> 08:00 BST
        (utc(2026, 7, 15, 6, 59), utc(2026, 7, 15, 7, 0)),  # 07:59 BST
        (utc(2026, 12, 31, 22, 0), utc(2027, 1, 1, 8, 0)),  # over the year end
    ],
)
def test_inside_quiet_hours_waits_for_eight_local(now, expected):
    assert next_allowed_send_time(now) == expected


def test_october_change_night_holds_until_eight_gmt():
    # 25 October 2026: BST ends at 02:00 BST (01:00 UTC). 23:00 BST on the 24th is 22:00 UTC.
    assert next_allowed_send_time(utc(2026, 10, 24, 22, 0)) == utc(2026, 10, 25, 8, 0)


def test_october_change_repeated_hour_is_quiet():
    # 01:30 local happens twice on 25 October 2026; both are in the quiet hours.
    assert next_allowed_send_time(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 8, 0)
    assert next_allowed_send_time(utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 25, 8, 0)


def test_october_change_evening_starts_at_twenty_one_gmt():
    assert next_allowed_send_time(utc(2026, 10, 25, 20, 30)) == utc(2026, 10, 25, 20, 30)
    assert next_allowed_send_time(utc(2026, 10, 25, 21, 0)) == utc(2026, 10, 26, 8, 0)


def test_march_change_night_holds_until_eight_bst():
    # 29 March 2026: BST starts at 01:00 UTC. 21:30 GMT on the 28th waits for 08:00 BST = 07:00 UTC.
    assert next_allowed_send_time(utc(2026, 3, 28, 21, 30)) == utc(2026, 3, 29, 7, 0)


def test_march_change_morning_allows_eight_bst():
    assert next_allowed_send_time(utc(2026, 3, 29, 6, 59)) == utc(2026, 3, 29, 7, 0)
    assert next_allowed_send_time(utc(2026, 3, 29, 7, 0)) == utc(2026, 3, 29, 7, 0)


def test_the_venue_time_zone_decides():
    # 12:00 UTC is 07:00 in New York (EST in January): quiet until 08:00 EST = 13:00 UTC.
    assert next_allowed_send_time(utc(2026, 1, 15, 12, 0), "America/New_York") == utc(2026, 1, 15, 13, 0)


def test_a_quiet_period_within_one_day():
    assert next_allowed_send_time(utc(2026, 1, 15, 13, 30), start=time(13), end=time(14)) == utc(2026, 1, 15, 14, 0)
    assert next_allowed_send_time(utc(2026, 1, 15, 14, 0), start=time(13), end=time(14)) == utc(2026, 1, 15, 14, 0)


def test_a_morning_skipped_by_the_spring_change_lands_after_the_gap():
    # Quiet until 01:30 local, a time that does not exist on 29 March 2026: the text goes at 02:30 BST.
    held = next_allowed_send_time(utc(2026, 3, 29, 0, 30), start=time(23), end=time(1, 30))
    assert held == utc(2026, 3, 29, 1, 30)


def test_returns_utc_for_an_aware_non_utc_now():
    from zoneinfo import ZoneInfo

    now = datetime(2026, 7, 15, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    assert next_allowed_send_time(now).tzinfo == timezone.utc


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed_send_time(datetime(2026, 1, 15, 12, 0))
