"""Staff changes to the programme, and smaller bookings, against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from booking.errors import (
    ActivityNotFound,
    BookingAlreadyCancelled,
    BookingNotFound,
    CapacityBelowTaken,
    CapacityExceedsRoom,
    InvalidCapacity,
    InvalidPartySize,
    InvalidSessionTimes,
    RoomNotFound,
    SessionCancelled,
    SessionFull,
    SessionStarted,
)
from booking.programme import (
    SESSION_CANCELLED_REASON,
    cancel_session,
    change_capacity,
    change_session,
    schedule_session,
)
from booking.referrals import accept_referral, create_referral
from booking.service import book_place, cancel_booking, reduce_party_size
from booking.states import BookingStatus, ReferralMode, ReferralStatus
from booking.tables import Booking, Referral, Session, WaitlistOffer
from booking.waitlist import accept_offer, offer_free_places
from events.tables import OutboxEvent
from tests.builders import fill_session, make_activity, make_room, make_session, resident
from tests.integration.test_waitlist import entry_status, events_for, full_session_with_queue, places
from tests.referral_support import make_link_worker, referral_request


def iso(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


async def session_row(session_id: int) -> dict:
    return await Session.select().where(Session.id == session_id).first()


async def offer_status(offer_id: int) -> str:
    return (await WaitlistOffer.select(WaitlistOffer.status).where(WaitlistOffer.id == offer_id).first())["status"]


async def outbox_count() -> int:
    return await OutboxEvent.count()


def in_days(days: float, hour: int = 10) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


# --- schedule_session ---------------------------------------------------------------------------


async def test_scheduling_a_session_records_session_scheduled(db):
    activity, room = await make_activity(), await make_room(capacity=20)
    starts_at = in_days(3)

    session_id = await schedule_session(activity.id, room.id, starts_at, starts_at + timedelta(hours=1), 12)

    row = await session_row(session_id)
    assert (row["activity"], row["room"], row["capacity"], row["booked"], row["held"], row["status"]) == (
        activity.id, room.id, 12, 0, 0, "scheduled",
    )
    assert row["starts_at"] == starts_at
    assert await events_for(session_id, "session.scheduled") == [{
        "session_id": session_id,
        "activity_id": activity.id,
        "room_id": room.id,
        "starts_at": iso(starts_at),
        "ends_at": iso(starts_at + timedelta(hours=1)),
        "capacity": 12,
    }]


async def test_scheduling_refuses_more_places_than_the_room_holds_and_impossible_times(db):
    activity, room = await make_activity(), await make_room(capacity=20, name="Garden room")
    starts_at = in_days(3)
    before = await outbox_count()

    with pytest.raises(CapacityExceedsRoom) as too_big:
        await schedule_session(activity.id, room.id, starts_at, starts_at + timedelta(hours=1), 21)
    with pytest.raises(InvalidSessionTimes) as backwards:
        await schedule_session(activity.id, room.id, starts_at, starts_at - timedelta(minutes=1), 10)
    with pytest.raises(InvalidSessionTimes) as past:
        await schedule_session(activity.id, room.id, in_days(-1), in_days(-1) + timedelta(hours=1), 10)
    with pytest.raises(InvalidCapacity):
        await schedule_session(activity.id, room.id, starts_at, starts_at + timedelta(hours=1), 0)
    with pytest.raises(RoomNotFound):
        await schedule_session(activity.id, 2_000_000_000, starts_at, starts_at + timedelta(hours=1), 10)
    with pytest.raises(ActivityNotFound):
        await schedule_session(2_000_000_000, room.id, starts_at, starts_at + timedelta(hours=1), 10)

    assert too_big.value.message == "Garden room holds 20 people, so the session cannot have more than 20 places."
    assert backwards.value.message == "A session must end after it starts."
    assert past.value.message == "A session must start in the future."
    assert await Session.count().where(Session.activity == activity.id) == 0
    assert await outbox_count() == before


# --- change_session -----------------------------------------------------------------------------


async def test_moving_a_session_keeps_its_bookings_and_its_length(db):
    session = await make_session(capacity=6)
    bookings = await fill_session(session.id, 4, party_size=2)
    before = await session_row(session.id)
    new_start = before["starts_at"] + timedelta(days=7, hours=2)

    change = await change_session(session.id, starts_at=new_start)

    after = await session_row(session.id)
    assert (after["starts_at"], after["ends_at"]) == (new_start, new_start + timedelta(hours=1))
    assert (after["booked"], after["capacity"], after["room"]) == (4, 6, before["room"])
    statuses = await Booking.select(Booking.status).where(Booking.id.is_in([b.booking_id for b in bookings]))
    assert [row["status"] for row in statuses] == [BookingStatus.CONFIRMED.value] * 2
    assert change.changed and change.previous_starts_at == before["starts_at"]
    assert await events_for(session.id, "session.changed") == [{
        "session_id": session.id,
        "starts_at": iso(new_start),
        "ends_at": iso(new_start + timedelta(hours=1)),
        "room_id": before["room"],
        "previous_starts_at": iso(before["starts_at"]),
        "previous_ends_at": iso(before["ends_at"]),
        "previous_room_id": before["room"],
    }]


async def test_moving_a_session_to_another_room_needs_the_room_to_hold_its_places(db):
    session = await make_session(capacity=12)
    await fill_session(session.id, 3)
    big, small = await make_room(capacity=15), await make_room(capacity=10, name="Quiet room")
    previous_room = (await session_row(session.id))["room"]

    with pytest.raises(CapacityExceedsRoom) as refused:
        await change_session(session.id, room_id=small.id)
    assert (await session_row(session.id))["room"] == previous_room
    assert await events_for(session.id, "session.changed") == []

    await change_session(session.id, room_id=big.id)

    assert refused.value.message == (
        "Quiet room holds 10 people but the session has 12 places. Lower the session's capacity first."
    )
    assert (await session_row(session.id))["room"] == big.id
    [changed] = await events_for(session.id, "session.changed")
    assert (changed["room_id"], changed["previous_room_id"]) == (big.id, previous_room)
    assert changed["starts_at"] == changed["previous_starts_at"]
    with pytest.raises(RoomNotFound):
        await change_session(session.id, room_id=2_000_000_000)


async def test_a_cancelled_or_started_session_cannot_be_changed(db):
    cancelled = await make_session()
    await cancel_session(cancelled.id)
    started = await make_session(starts_in=timedelta(hours=1))
    row = await session_row(started.id)

    with pytest.raises(SessionCancelled) as after_cancel:
        await change_session(cancelled.id, starts_at=in_days(9))
    with pytest.raises(SessionStarted) as after_start:
        await change_session(started.id, starts_at=in_days(9), now=row["starts_at"] + timedelta(minutes=5))
    with pytest.raises(InvalidSessionTimes):
        await change_session(started.id, ends_at=row["starts_at"])

    assert after_cancel.value.message == "This session has been cancelled, so it cannot be changed."
    assert after_start.value.message == "This session has already started, so it can no longer be changed."
    assert await events_for(started.id, "session.changed") == []


async def test_moving_a_session_earlier_cuts_open_offers_short(db):
    session, bookings, _, clock = await full_session_with_queue(1, [1])
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [offer] = await offer_free_places(session.id, clock)
    assert offer.expires_at == clock.now() + timedelta(hours=12)
    new_start = clock.now() + timedelta(hours=6)

    await change_session(session.id, starts_at=new_start, now=clock.now())

    stored = await WaitlistOffer.select(WaitlistOffer.expires_at).where(WaitlistOffer.id == offer.offer_id).first()
    assert stored["expires_at"] == new_start - timedelta(hours=2)
    assert await offer_status(offer.offer_id) == "open"


# --- cancel_session -----------------------------------------------------------------------------


async def test_cancelling_a_session_closes_its_open_referral_holds(db):
    session = await make_session(capacity=6, starts_in=timedelta(days=10))
    worker = await make_link_worker()
    now = datetime.now(timezone.utc)
    open_hold = await create_referral(worker, referral_request(session.id, resident("held"), party_size=2), now)
    taken_up = await create_referral(worker, referral_request(session.id, resident("confirmed")), now)
    await accept_referral(taken_up.referral_id, now)
    booked = await create_referral(worker, referral_request(session.id, resident("booked"), mode=ReferralMode.BOOK), now)
    assert await places(session.id) == {"capacity": 6, "booked": 2, "held": 2}

    await cancel_session(session.id, now=now)

    rows = await Referral.select(Referral.id, Referral.status).where(Referral.session == session.id)
    statuses = {row["id"]: row["status"] for row in rows}
    assert statuses == {
        open_hold.referral_id: ReferralStatus.CANCELLED.value,
        taken_up.referral_id: ReferralStatus.ACCEPTED.value,  # its booking was cancelled with the session
        booked.referral_id: ReferralStatus.CREATED.value,
    }
    assert await places(session.id) == {"capacity": 6, "booked": 0, "held": 0}
    with pytest.raises(SessionCancelled):
        await accept_referral(open_hold.referral_id, now)


async def test_cancelling_a_session_ends_bookings_offers_and_the_waiting_list(db):
    session, bookings, queue, clock = await full_session_with_queue(3, [1, 2])
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [offer] = await offer_free_places(session.id, clock)  # the first in line is holding one place
    assert await places(session.id) == {"capacity": 3, "booked": 2, "held": 1}
    cancelled_before = len(await events_for(session.id, "booking.cancelled"))

    result = await cancel_session(session.id, "  The hall is flooded; sorry.  ", now=clock.now())

    live = [b.booking_id for b in bookings[1:]]
    assert result.booking_ids == sorted(live)
    assert result.waitlist_entry_ids == sorted(place.waitlist_entry_id for place in queue)
    assert result.offer_ids == [offer.offer_id]
    row = await session_row(session.id)
    assert (row["status"], row["booked"], row["held"]) == ("cancelled", 0, 0)
    ended = await Booking.select(Booking.status, Booking.cancel_reason, Booking.cancelled_at).where(
        Booking.id.is_in(live)
    )
    assert ended == [{"status": "cancelled", "cancel_reason": SESSION_CANCELLED_REASON, "cancelled_at": clock.now()}] * 2
    assert await offer_status(offer.offer_id) == "expired"
    assert [await entry_status(place.waitlist_entry_id) for place in queue] == ["removed", "removed"]
    assert await events_for(session.id, "session.cancelled") == [{
        "session_id": session.id,
        "message": "The hall is flooded; sorry.",
        "booking_ids": sorted(live),
        "waitlist_entry_ids": sorted(place.waitlist_entry_id for place in queue),
    }]
    assert len(await events_for(session.id, "booking.cancelled")) == cancelled_before  # none per booking
    assert (await events_for(session.id, "availability.changed"))[-1] == {
        "session_id": session.id, "capacity": 3, "booked": 0, "places_left": 0,
    }
    with pytest.raises(SessionCancelled):
        await accept_offer(offer.token, clock)
    with pytest.raises(SessionCancelled) as twice:
        await cancel_session(session.id)
    assert twice.value.message == "This session has already been cancelled."
    with pytest.raises(SessionCancelled):
        await book_place(session.id, resident(f"{session.id}-late"), 1)


async def test_a_started_session_cannot_be_cancelled(db):
    session = await make_session(starts_in=timedelta(hours=3))
    await fill_session(session.id, 2)
    starts_at = (await session_row(session.id))["starts_at"]

    with pytest.raises(SessionStarted) as refused:
        await cancel_session(session.id, now=starts_at)

    assert refused.value.message == "This session has already started, so it can no longer be cancelled."
    assert (await session_row(session.id))["status"] == "scheduled"
    assert await events_for(session.id, "session.cancelled") == []


# --- change_capacity ----------------------------------------------------------------------------


async def test_changing_capacity_records_availability_within_the_rules(db):
    room = await make_room(capacity=12, name="Small hall")
    session = await make_session(capacity=8, room=room)
    await fill_session(session.id, 5)

    assert await change_capacity(session.id, 10) == 5
    assert await change_capacity(session.id, 5) == 0
    with pytest.raises(CapacityBelowTaken) as too_few:
        await change_capacity(session.id, 4)
    with pytest.raises(CapacityExceedsRoom) as too_many:
        await change_capacity(session.id, 13)
    with pytest.raises(InvalidCapacity):
        await change_capacity(session.id, 0)

    assert too_few.value.message == "5 places are booked, so the capacity cannot be less than 5."
    assert too_many.value.message == "Small hall holds 12 people, so the session cannot have more than 12 places."
    assert await places(session.id) == {"capacity": 5, "booked": 5, "held": 0}
    changes = (await events_for(session.id, "availability.changed"))[-2:]
    assert changes == [
        {"session_id": session.id, "capacity": 10, "booked": 5, "places_left": 5},
        {"session_id": session.id, "capacity": 5, "booked": 5, "places_left": 0},
    ]


async def test_capacity_cannot_drop_below_places_held_for_offers(db):
    session, bookings, _, clock = await full_session_with_queue(4, [2])
    for booking in bookings[:2]:
        await cancel_booking(booking.reference, manage_token=booking.manage_token)
    await offer_free_places(session.id, clock)

    with pytest.raises(CapacityBelowTaken) as refused:
        await change_capacity(session.id, 3)

    assert refused.value.message == (
        "2 places are booked and 2 held for waiting-list offers, so the capacity cannot be less than 4."
    )
    assert await places(session.id) == {"capacity": 4, "booked": 2, "held": 2}


async def test_a_cancelled_session_keeps_its_capacity(db):
    session = await make_session(capacity=8)
    await cancel_session(session.id)

    with pytest.raises(SessionCancelled) as refused:
        await change_capacity(session.id, 5)

    assert refused.value.message == "This session has been cancelled, so it cannot be changed."
    assert (await session_row(session.id))["capacity"] == 8


# --- reduce_party_size --------------------------------------------------------------------------


async def test_reducing_a_party_frees_places_and_records_availability(db):
    session = await make_session(capacity=6)
    booking = await book_place(session.id, resident(f"{session.id}-family"), 4)

    reduced = await reduce_party_size(booking.reference, 1, manage_token=booking.manage_token)

    assert (reduced.party_size, reduced.places_freed, reduced.places_left) == (1, 3, 5)
    assert await places(session.id) == {"capacity": 6, "booked": 1, "held": 0}
    stored = await Booking.select(Booking.party_size, Booking.status).where(Booking.id == booking.booking_id).first()
    assert stored == {"party_size": 1, "status": "confirmed"}
    assert (await events_for(session.id, "availability.changed"))[-1] == {
        "session_id": session.id, "capacity": 6, "booked": 1, "places_left": 5,
    }


async def test_reducing_a_party_refuses_bad_sizes_and_the_wrong_token(db):
    session = await make_session(capacity=6)
    booking = await book_place(session.id, resident(f"{session.id}-pair"), 3)
    single = await book_place(session.id, resident(f"{session.id}-single"), 1)

    with pytest.raises(BookingNotFound):
        await reduce_party_size(booking.reference, 1, manage_token="not-the-token")
    with pytest.raises(BookingNotFound):
        await reduce_party_size("ZZZ-ZZZ", 1, authorised=True)
    for size in (3, 4, 0, -1, "2", True):
        with pytest.raises(InvalidPartySize) as refused:
            await reduce_party_size(booking.reference, size, manage_token=booking.manage_token)
        assert refused.value.message == "This booking is for 3 places. You can reduce it to between 1 and 2 places."
    with pytest.raises(InvalidPartySize) as one:
        await reduce_party_size(single.reference, 1, manage_token=single.manage_token)
    assert one.value.message == "This booking is for one place, so it cannot be made smaller. Cancel it instead."
    assert await places(session.id) == {"capacity": 6, "booked": 4, "held": 0}

    assert (await reduce_party_size(booking.reference, 2, authorised=True)).places_freed == 1  # staff need no token
    with pytest.raises(InvalidPartySize) as pair:
        await reduce_party_size(booking.reference, 2, authorised=True)
    assert pair.value.message == "This booking is for 2 places. You can reduce it to 1 place."
    await cancel_booking(booking.reference, authorised=True)
    with pytest.raises(BookingAlreadyCancelled):
        await reduce_party_size(booking.reference, 1, manage_token=booking.manage_token)
    assert await places(session.id) == {"capacity": 6, "booked": 1, "held": 0}


async def test_a_party_cannot_be_reduced_once_the_session_has_started(db):
    session = await make_session(capacity=6, starts_in=timedelta(hours=3))
    booking = await book_place(session.id, resident(f"{session.id}-late"), 3)
    starts_at = (await session_row(session.id))["starts_at"]

    with pytest.raises(SessionStarted):
        await reduce_party_size(booking.reference, 1, manage_token=booking.manage_token, now=starts_at)

    assert await places(session.id) == {"capacity": 6, "booked": 3, "held": 0}


# --- Real concurrency (PostgreSQL) --------------------------------------------------------------


async def test_cancelling_a_session_while_residents_book_and_accept_leaves_nothing_behind(pg_engine):
    """A cancellation races 40 public bookings and 3 accepts: afterwards nothing on the session is live."""
    session, bookings, _, clock = await full_session_with_queue(12, [1, 1, 1])
    for booking in bookings[:8]:
        await cancel_booking(booking.reference, manage_token=booking.manage_token)
    offers = await offer_free_places(session.id, clock)

    results = await asyncio.gather(
        *(book_place(session.id, resident(f"{session.id}-racer{i}"), 1) for i in range(20)),
        *(accept_offer(offer.token, clock) for offer in offers),
        cancel_session(session.id, "Sorry"),
        *(book_place(session.id, resident(f"{session.id}-racer{i}"), 1) for i in range(20, 40)),
        return_exceptions=True,
    )

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, SessionCancelled | SessionFull)]
    assert unexpected == []
    assert await places(session.id) == {"capacity": 12, "booked": 0, "held": 0}
    assert await Booking.count().where(
        (Booking.session == session.id) & (Booking.status == BookingStatus.CONFIRMED.value)
    ) == 0
    assert await WaitlistOffer.count().where(
        (WaitlistOffer.session == session.id) & (WaitlistOffer.status == "open")
    ) == 0
    [event] = await events_for(session.id, "session.cancelled")
    ended = await Booking.select(Booking.id).where(
        (Booking.session == session.id) & (Booking.cancel_reason == SESSION_CANCELLED_REASON)
    )
    assert sorted(row["id"] for row in ended) == event["booking_ids"]


async def test_capacity_changes_racing_bookings_never_leave_a_session_overbooked(pg_engine):
    session = await make_session(capacity=20)
    await fill_session(session.id, 5)

    results = await asyncio.gather(
        *(book_place(session.id, resident(f"{session.id}-racer{i}"), 1) for i in range(15)),
        *(change_capacity(session.id, capacity) for capacity in (6, 8, 10, 12)),
        return_exceptions=True,
    )

    assert all(isinstance(r, SessionFull | CapacityBelowTaken) for r in results if isinstance(r, Exception))
    row = await places(session.id)
    assert row["booked"] <= row["capacity"]
    confirmed = await Booking.count().where(
        (Booking.session == session.id) & (Booking.status == BookingStatus.CONFIRMED.value)
    )
    assert confirmed == row["booked"]


async def test_concurrent_reductions_of_one_booking_keep_booked_equal_to_the_parties(pg_engine):
    session = await make_session(capacity=10, max_party_size=8)
    booking = await book_place(session.id, resident(f"{session.id}-big"), 8)

    results = await asyncio.gather(
        *(reduce_party_size(booking.reference, size, authorised=True) for size in (7, 6, 5, 4, 3, 2, 1) * 2),
        return_exceptions=True,
    )

    assert all(isinstance(r, InvalidPartySize) for r in results if isinstance(r, Exception))
    freed = sum(r.places_freed for r in results if not isinstance(r, Exception))
    stored = await Booking.select(Booking.party_size).where(Booking.id == booking.booking_id).first()
    assert freed == 8 - stored["party_size"]
    assert await places(session.id) == {"capacity": 10, "booked": stored["party_size"], "held": 0}



# --- edit_session (the staff edit form) ------------------------------------------------------------


async def test_editing_moves_to_a_smaller_room_by_lowering_places_first_all_or_nothing(db):
    from booking.programme import edit_session

    big = await make_room(capacity=20, name="Hall")
    small = await make_room(capacity=6, name="Quiet room")
    session = await make_session(capacity=12, room=big, starts_in=timedelta(days=3))
    await fill_session(session.id, 4)
    before = await session_row(session.id)
    later = before["starts_at"] + timedelta(hours=2)

    with pytest.raises(CapacityBelowTaken):
        await edit_session(session.id, starts_at=later, ends_at=later + timedelta(hours=1), room_id=small.id,
                           capacity=3, setup_minutes=0, cleardown_minutes=0)
    unchanged = await session_row(session.id)
    await edit_session(session.id, starts_at=later, ends_at=later + timedelta(hours=1), room_id=small.id,
                       capacity=6, setup_minutes=10, cleardown_minutes=5)

    after = await session_row(session.id)
    assert (unchanged["room"], unchanged["capacity"], unchanged["starts_at"]) == (big.id, 12, before["starts_at"])
    assert (after["room"], after["capacity"], after["starts_at"], after["setup_minutes"], after["cleardown_minutes"]) == (
        small.id, 6, later, 10, 5,
    )
    assert len(await events_for(session.id, "session.changed")) == 1
