"""The waiting list against real SQLite and PostgreSQL: join, offer, hold, accept, decline, expire."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from booking.clock import FixedClock
from booking.errors import (
    AlreadyBooked,
    AlreadyOnWaitlist,
    InvalidPartySize,
    OfferAlreadyAccepted,
    OfferDeclined,
    OfferExpired,
    OfferNotFound,
    PlacesAvailable,
    SessionFull,
)
from booking.service import book_place, cancel_booking
from booking.states import BookingSource, BookingStatus, WaitlistMode
from booking.tables import Booking, Session, WaitlistEntry, WaitlistOffer
from booking.waitlist import (
    OfferMade,
    accept_offer,
    decline_offer,
    expire_offers,
    join_waitlist,
    offer_free_places,
)
from events.tables import OutboxEvent
from tests.builders import fill_session, make_activity, make_session, make_waitlist_session, resident


async def events_for(session_id: int, event_type: str) -> list[dict]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == event_type).order_by(OutboxEvent.id)
    data = [json.loads(row["payload"])["data"] for row in rows]
    return [d for d in data if d["session_id"] == session_id]


async def places(session_id: int) -> dict:
    return await Session.select(Session.capacity, Session.booked, Session.held).where(Session.id == session_id).first()


async def entry_status(entry_id: int) -> str:
    return (await WaitlistEntry.select(WaitlistEntry.status).where(WaitlistEntry.id == entry_id).first())["status"]


async def full_session_with_queue(capacity: int, party_sizes: list[int], **options):
    """A full session (single-place bookings) and residents queued with ``party_sizes``, in order."""
    session = await make_waitlist_session(capacity, **options)
    bookings = await fill_session(session.id, capacity)
    clock = FixedClock()
    queue = []
    for n, size in enumerate(party_sizes):
        queue.append(await join_waitlist(session.id, resident(f"{session.id}-q{n}"), size, clock))
        clock.advance(timedelta(seconds=1))
    return session, bookings, queue, clock


async def test_join_a_full_session_records_position_and_event(db):
    session, _, queue, _ = await full_session_with_queue(2, [1, 2])
    assert [place.position for place in queue] == [1, 2]
    assert await entry_status(queue[0].waitlist_entry_id) == "waiting"
    events = await events_for(session.id, "booking.waitlisted")
    assert events[-1] == {
        "waitlist_entry_id": queue[1].waitlist_entry_id,
        "session_id": session.id,
        "resident_id": queue[1].resident_id,
        "party_size": 2,
        "position": 2,
    }


async def test_join_refuses_when_places_are_left_already_booked_or_already_waiting(db):
    session = await make_waitlist_session(3)
    clock = FixedClock()
    with pytest.raises(PlacesAvailable):
        await join_waitlist(session.id, resident("early"), 1, clock)
    booked = await book_place(session.id, resident(f"{session.id}-b"), 2)
    with pytest.raises(AlreadyBooked):
        await join_waitlist(session.id, resident(f"{session.id}-b"), 2, clock)
    await join_waitlist(session.id, resident(f"{session.id}-w"), 2, clock)  # 1 left, party of 2: waits
    with pytest.raises(AlreadyOnWaitlist):
        await join_waitlist(session.id, resident(f"{session.id}-w"), 2, clock)
    with pytest.raises(InvalidPartySize):
        await join_waitlist(session.id, resident(f"{session.id}-x"), 5, clock)
    assert booked.places_left == 1
    assert await WaitlistEntry.count().where(WaitlistEntry.session == session.id) == 1


async def test_freed_place_goes_to_the_first_party_that_fits(db):
    """Fit-first: one freed place skips a party of 3 for the party of 1 behind it."""
    session, bookings, queue, clock = await full_session_with_queue(4, [3, 1, 1])
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)

    [offer] = await offer_free_places(session.id, clock)

    assert isinstance(offer, OfferMade)
    assert offer.waitlist_entry_id == queue[1].waitlist_entry_id and offer.party_size == 1
    assert offer.expires_at == clock.now() + timedelta(hours=12)
    assert await entry_status(queue[0].waitlist_entry_id) == "waiting"  # keeps its place at the front
    assert await entry_status(queue[1].waitlist_entry_id) == "offered"
    assert await places(session.id) == {"capacity": 4, "booked": 3, "held": 1}
    assert await offer_free_places(session.id, clock) == []  # the place is held, nothing more to offer
    [event] = await events_for(session.id, "waitlist.offered")
    assert event == {
        "offer_id": offer.offer_id,
        "waitlist_entry_id": offer.waitlist_entry_id,
        "session_id": session.id,
        "resident_id": offer.resident_id,
        "party_size": 1,
        "expires_at": offer.expires_at.isoformat().replace("+00:00", "Z"),
    }
    assert (await events_for(session.id, "availability.changed"))[-1] == {
        "session_id": session.id, "capacity": 4, "booked": 3, "places_left": 0,
    }


async def test_the_public_cannot_book_held_places(db):
    session, bookings, _, clock = await full_session_with_queue(2, [1])
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    await offer_free_places(session.id, clock)
    with pytest.raises(SessionFull):
        await book_place(session.id, resident(f"{session.id}-public"), 1)
    assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}


async def test_accept_books_the_held_places(db):
    session, bookings, queue, clock = await full_session_with_queue(3, [2])
    for booking in bookings[:2]:
        await cancel_booking(booking.reference, manage_token=booking.manage_token)
    [offer] = await offer_free_places(session.id, clock)
    clock.advance(timedelta(hours=11))

    confirmation = await accept_offer(offer.token, clock)

    assert confirmation.party_size == 2 and confirmation.places_left == 0
    assert await places(session.id) == {"capacity": 3, "booked": 3, "held": 0}
    booking = await Booking.select().where(Booking.id == confirmation.booking_id).first()
    assert booking["status"] == BookingStatus.CONFIRMED.value and booking["source"] == BookingSource.WAITLIST.value
    assert await entry_status(queue[0].waitlist_entry_id) == "booked"
    stored = await WaitlistOffer.select(WaitlistOffer.status).where(WaitlistOffer.id == offer.offer_id).first()
    assert stored["status"] == "accepted"
    [accepted] = await events_for(session.id, "waitlist.offer_accepted")
    assert accepted == {
        "offer_id": offer.offer_id,
        "waitlist_entry_id": offer.waitlist_entry_id,
        "session_id": session.id,
        "resident_id": offer.resident_id,
        "booking_id": confirmation.booking_id,
        "reference": confirmation.reference,
    }
    confirmed = await events_for(session.id, "booking.confirmed")
    assert [e for e in confirmed if e["booking_id"] == confirmation.booking_id] == [{
        "booking_id": confirmation.booking_id,
        "reference": confirmation.reference,
        "session_id": session.id,
        "resident_id": offer.resident_id,
        "party_size": 2,
        "places_left": 0,
    }]
    with pytest.raises(OfferAlreadyAccepted):
        await accept_offer(offer.token, clock)
    with pytest.raises(OfferNotFound):
        await accept_offer("not-a-token", clock)


async def test_decline_moves_on_to_the_next_person(db):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [first] = await offer_free_places(session.id, clock)

    [second] = await decline_offer(first.token, clock)

    assert second.waitlist_entry_id == queue[1].waitlist_entry_id
    assert await entry_status(queue[0].waitlist_entry_id) == "declined"
    assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}
    [declined] = await events_for(session.id, "waitlist.offer_declined")
    assert declined == {
        "offer_id": first.offer_id,
        "waitlist_entry_id": first.waitlist_entry_id,
        "session_id": session.id,
        "resident_id": first.resident_id,
    }
    with pytest.raises(OfferDeclined):
        await accept_offer(first.token, clock)


async def test_expiry_moves_on_and_a_late_accept_is_refused(db):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [first] = await offer_free_places(session.id, clock)
    clock.advance(timedelta(hours=12))

    with pytest.raises(OfferExpired):
        await accept_offer(first.token, clock)  # past its time even before the sweep
    result = await expire_offers(clock)

    assert first.offer_id in result.expired_offer_ids
    [second] = [o for o in result.next_in_line if o.session_id == session.id]
    assert second.waitlist_entry_id == queue[1].waitlist_entry_id
    assert await entry_status(queue[0].waitlist_entry_id) == "expired"
    assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}
    [expired] = await events_for(session.id, "waitlist.offer_expired")
    assert expired == {
        "offer_id": first.offer_id,
        "waitlist_entry_id": first.waitlist_entry_id,
        "session_id": session.id,
        "resident_id": first.resident_id,
    }
    with pytest.raises(OfferExpired):
        await accept_offer(first.token, clock)
    assert (await accept_offer(second.token, clock)).places_left == 0


async def test_offers_stop_at_the_cutoff_before_the_session_starts(db):
    session, bookings, queue, clock = await full_session_with_queue(1, [1, 1], starts_in=timedelta(hours=5))
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [first] = await offer_free_places(session.id, clock)
    starts_at = (await Session.select(Session.starts_at).where(Session.id == session.id).first())["starts_at"]
    assert first.expires_at == starts_at - timedelta(hours=2)  # not the full 12 hours

    clock.advance(first.expires_at - clock.now())
    result = await expire_offers(clock)

    assert first.offer_id in result.expired_offer_ids
    assert [o for o in result.next_in_line if o.session_id == session.id] == []  # too late to offer
    assert await entry_status(queue[1].waitlist_entry_id) == "waiting"
    assert await places(session.id) == {"capacity": 1, "booked": 0, "held": 0}


async def full_session_with_offer_hours(offer_hours: int, party_sizes: list[int], *, starts_in=timedelta(days=4)):
    """``full_session_with_queue`` for an activity whose offers run ``offer_hours``."""
    activity = await make_activity(offer_hours=offer_hours)
    session = await make_session(1, starts_in=starts_in, activity=activity)
    bookings = await fill_session(session.id, 1)
    clock = FixedClock()
    queue = []
    for n, size in enumerate(party_sizes):
        queue.append(await join_waitlist(session.id, resident(f"{session.id}-q{n}"), size, clock))
        clock.advance(timedelta(seconds=1))
    return session, bookings, queue, clock


async def test_offers_run_for_the_activitys_own_offer_hours(db):
    """Offers made on a cancellation, after a decline and after an expiry all use the activity's 30 hours."""
    session, bookings, queue, clock = await full_session_with_offer_hours(30, [1, 1, 1])
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)

    [first] = await offer_free_places(session.id, clock)
    assert first.expires_at == clock.now() + timedelta(hours=30)
    [event] = await events_for(session.id, "waitlist.offered")
    assert event["expires_at"] == first.expires_at.isoformat().replace("+00:00", "Z")

    clock.advance(timedelta(hours=1))
    [second] = await decline_offer(first.token, clock)
    assert second.expires_at == clock.now() + timedelta(hours=30)

    clock.advance(timedelta(hours=30))
    result = await expire_offers(clock)
    assert second.offer_id in result.expired_offer_ids
    [third] = [o for o in result.next_in_line if o.session_id == session.id]
    assert third.waitlist_entry_id == queue[2].waitlist_entry_id
    assert third.expires_at == clock.now() + timedelta(hours=30)


async def test_the_cutoff_still_wins_over_long_offer_hours(db):
    session, bookings, _, clock = await full_session_with_offer_hours(48, [1], starts_in=timedelta(hours=20))
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [offer] = await offer_free_places(session.id, clock)
    starts_at = (await Session.select(Session.starts_at).where(Session.id == session.id).first())["starts_at"]
    assert offer.expires_at == starts_at - timedelta(hours=2)


async def test_automatic_mode_books_the_next_person_directly(db):
    session, bookings, queue, clock = await full_session_with_queue(2, [2, 1], waitlist_mode=WaitlistMode.AUTOMATIC)
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)

    [booked] = await offer_free_places(session.id, clock)

    assert booked.status is BookingStatus.CONFIRMED and booked.resident_id == queue[1].resident_id
    assert await entry_status(queue[1].waitlist_entry_id) == "booked"
    assert await places(session.id) == {"capacity": 2, "booked": 2, "held": 0}
    assert await WaitlistOffer.count().where(WaitlistOffer.session == session.id) == 0
    assert booked.booking_id in [e["booking_id"] for e in await events_for(session.id, "booking.confirmed")]


async def test_a_resident_who_booked_meanwhile_leaves_the_queue(db):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    for booking in bookings:
        await cancel_booking(booking.reference, manage_token=booking.manage_token)
    await book_place(session.id, resident(f"{session.id}-q0"), 1)  # the first in line books for themselves

    [offer] = await offer_free_places(session.id, clock)

    assert offer.waitlist_entry_id == queue[1].waitlist_entry_id
    assert await entry_status(queue[0].waitlist_entry_id) == "removed"


async def test_every_change_of_places_records_availability(db):
    session, bookings, _, clock = await full_session_with_queue(2, [1])
    before = len(await events_for(session.id, "availability.changed"))
    assert before == 2  # the two bookings that filled it
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [offer] = await offer_free_places(session.id, clock)
    await accept_offer(offer.token, clock)
    changes = (await events_for(session.id, "availability.changed"))[before:]
    assert [(c["booked"], c["places_left"]) for c in changes] == [(1, 1), (1, 0), (2, 0)]


async def test_concurrent_accepts_and_public_bookings_never_overbook(pg_engine):
    """5 offers (each accepted twice at once) race 60 public bookings for the 3 unheld places."""
    session, bookings, _, clock = await full_session_with_queue(10, [1] * 5)
    for booking in bookings[:8]:
        await cancel_booking(booking.reference, manage_token=booking.manage_token)
    offers = await offer_free_places(session.id, clock)
    assert len(offers) == 5

    results = await asyncio.gather(
        *(accept_offer(offer.token, clock) for offer in offers * 2),
        *(book_place(session.id, resident(f"{session.id}-racer{i}"), 1) for i in range(60)),
        return_exceptions=True,
    )

    accepts, public = results[:10], results[10:]
    assert sum(not isinstance(r, Exception) for r in accepts) == 5
    assert all(isinstance(r, OfferAlreadyAccepted) for r in accepts if isinstance(r, Exception))
    assert sum(not isinstance(r, Exception) for r in public) == 3
    assert all(isinstance(r, SessionFull) for r in public if isinstance(r, Exception))
    assert await places(session.id) == {"capacity": 10, "booked": 10, "held": 0}
    confirmed = await Booking.count().where(
        (Booking.session == session.id) & (Booking.status == BookingStatus.CONFIRMED.value)
    )
    assert confirmed == 10


async def test_one_place_in_the_queue_per_resident_even_when_joining_at_once(pg_engine):
    session = await make_waitlist_session(1)
    await fill_session(session.id, 1)
    clock = FixedClock()
    results = await asyncio.gather(
        *(join_waitlist(session.id, resident(f"{session.id}-eager"), 1, clock) for _ in range(8)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, AlreadyOnWaitlist) for r in results if isinstance(r, Exception))
    assert await WaitlistEntry.count().where(WaitlistEntry.session == session.id) == 1


async def test_concurrent_sweeps_expire_each_offer_once(pg_engine):
    """Two capacity workers sweep at the same moment: each expired offer is claimed by one of them."""
    sessions = [await full_session_with_queue(2, [1, 1]) for _ in range(10)]
    first_offers = []
    for session, bookings, _, clock in sessions:
        await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
        first_offers += await offer_free_places(session.id, clock)
    later = FixedClock(sessions[-1][3].now() + timedelta(hours=12))

    results = await asyncio.gather(*(expire_offers(later) for _ in range(4)))

    claimed = [offer_id for result in results for offer_id in result.expired_offer_ids]
    mine = {offer.offer_id for offer in first_offers}
    assert sorted(o for o in claimed if o in mine) == sorted(mine)  # each once, none twice
    for session, _, queue, _ in sessions:
        assert await entry_status(queue[0].waitlist_entry_id) == "expired"
        assert await entry_status(queue[1].waitlist_entry_id) == "offered"
        assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}
        assert await WaitlistOffer.count().where(WaitlistOffer.session == session.id) == 2
