"""The waiting list's pure rules: when an offer runs out, and which parties the free places fit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from booking.clock import FixedClock
from booking.waitlist import QueuedParty, offer_expiry, select_parties

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_an_offer_runs_for_the_offer_hours_when_the_session_is_far_off():
    assert offer_expiry(NOW, NOW + timedelta(days=3)) == NOW + timedelta(hours=12)


def test_an_offer_never_runs_past_the_cutoff_before_the_start():
    assert offer_expiry(NOW, NOW + timedelta(hours=5)) == NOW + timedelta(hours=3)
    assert offer_expiry(NOW, NOW + timedelta(hours=5), offer_hours=1) == NOW + timedelta(hours=1)


def test_no_offer_inside_the_cutoff():
    assert offer_expiry(NOW, NOW + timedelta(hours=2)) is None
    assert offer_expiry(NOW, NOW + timedelta(hours=1)) is None
    assert offer_expiry(NOW, NOW + timedelta(hours=3), cutoff=timedelta(hours=3)) is None


def queue(*sizes: int) -> list[QueuedParty]:
    return [QueuedParty(entry_id=n, party_size=size) for n, size in enumerate(sizes, start=1)]


def test_parties_are_taken_in_queue_order_while_places_last():
    assert [p.entry_id for p in select_parties(queue(1, 2, 1), 3)] == [1, 2]


def test_a_party_too_big_is_passed_over_for_one_that_fits():
    assert [p.entry_id for p in select_parties(queue(3, 1, 1), 1)] == [2]
    assert [p.entry_id for p in select_parties(queue(3, 2, 1), 4)] == [1, 3]


def test_nothing_is_chosen_without_free_places():
    assert select_parties(queue(1, 1), 0) == []
    assert select_parties([], 5) == []


def test_fixed_clock_moves_only_when_told():
    clock = FixedClock(NOW)
    assert clock.now() == NOW
    clock.advance(timedelta(hours=12))
    assert clock.now() == NOW + timedelta(hours=12)
