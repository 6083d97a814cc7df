"""Booking rules, phone-only residents and idempotency in book_place, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest

from booking.clock import FixedClock
from booking.errors import (
    BookingClosed,
    BookingNotOpenYet,
    IdempotencyKeyReused,
    InvalidPartySize,
    TooManyActiveBookings,
)
from booking.service import book_place, cancel_booking
from booking.states import BookingSource
from booking.tables import Activity, Booking, Resident, Session, Venue
from booking.validation import ResidentDetails
from booking.waitlist import join_waitlist
from events.tables import OutboxEvent
from notifications.recipients import booking_recipient
from notifications.states import Channel
from tests.builders import fill_session, make_activity, make_session, resident, unique


async def starts_at(session_id: int):
    return (await Session.select(Session.starts_at).where(Session.id == session_id).first())["starts_at"]


async def confirmed_events(booking_id: int) -> list[dict]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "booking.confirmed")
    return [r for r in rows if json.loads(r["payload"])["data"]["booking_id"] == booking_id]


async def test_booking_is_refused_before_it_opens(db):
    activity = await make_activity(booking_opens_days=7)
    session = await make_session(activity=activity, starts_in=timedelta(days=2))
    start = await starts_at(session.id)
    with pytest.raises(BookingNotOpenYet) as refused:
        await book_place(session.id, resident(unique("early")), 1, now=start - timedelta(days=8))
    assert refused.value.message.startswith("Booking for this session opens on ")
    assert await Booking.count().where(Booking.session == session.id) == 0
    booked = await book_place(session.id, resident(unique("on-time")), 1, now=start - timedelta(days=7))
    assert booked.reference


async def test_booking_is_refused_after_it_closes_with_the_venues_phone(db):
    activity = await make_activity(booking_closes_hours=2)
    session = await make_session(activity=activity)
    venue_id = (await Session.select(Session.room.venue.id.as_alias("v")).where(Session.id == session.id).first())["v"]
    await Venue.update({Venue.phone: "01543 000111"}).where(Venue.id == venue_id)
    start = await starts_at(session.id)
    with pytest.raises(BookingClosed) as refused:
        await book_place(session.id, resident(unique("late")), 1, now=start - timedelta(hours=1))
    assert "2 hours before it starts. Contact the venue on 01543 000111 if you still want to come." in (
        refused.value.message
    )
    assert await Booking.count().where(Booking.session == session.id) == 0


async def test_staff_bookings_are_not_held_to_the_window(db):
    session = await make_session(activity=await make_activity(booking_closes_hours=2))
    start = await starts_at(session.id)
    booked = await book_place(
        session.id, resident(unique("phone")), 1, source=BookingSource.PHONE, now=start - timedelta(minutes=30)
    )
    assert booked.reference


async def test_the_waiting_list_follows_the_booking_window(db):
    activity = await make_activity(booking_opens_days=7)
    session = await make_session(capacity=1, activity=activity)
    await fill_session(session.id, 1)
    start = await starts_at(session.id)
    with pytest.raises(BookingNotOpenYet):
        await join_waitlist(session.id, resident(unique("queue")), 1, FixedClock(start - timedelta(days=8)))
    with pytest.raises(BookingClosed):
        await join_waitlist(session.id, resident(unique("queue")), 1, FixedClock(start - timedelta(minutes=30)))


async def test_too_many_upcoming_bookings_for_one_activity(db):
    activity = await make_activity(title="Chair yoga", max_active_bookings=2)
    sessions = [await make_session(activity=activity, starts_in=timedelta(days=d)) for d in (2, 3, 4)]
    other = await make_session()  # another activity does not count
    who = resident(unique("keen"))
    first = await book_place(sessions[0].id, who, 1)
    await book_place(sessions[1].id, who, 1)
    await book_place(other.id, who, 1)
    with pytest.raises(TooManyActiveBookings) as refused:
        await book_place(sessions[2].id, who, 1)
    assert refused.value.message == (
        "You already have 2 upcoming bookings for Chair yoga, which is the most anyone can have at once. "
        "You can cancel one of them to book this session."
    )
    await cancel_booking(first.reference, manage_token=first.manage_token)  # cancelling frees a slot
    assert (await book_place(sessions[2].id, who, 1)).reference


async def test_past_bookings_do_not_count_towards_the_limit(db):
    activity = await make_activity(max_active_bookings=1)
    earlier = await make_session(activity=activity, starts_in=timedelta(days=2))
    later = await make_session(activity=activity, starts_in=timedelta(days=5))
    who = resident(unique("regular"))
    await book_place(earlier.id, who, 1)
    after_the_first = (await starts_at(earlier.id)) + timedelta(hours=2)
    assert (await book_place(later.id, who, 1, now=after_the_first)).reference


async def test_party_size_limit_keeps_its_message(db):
    session = await make_session(max_party_size=2)
    with pytest.raises(InvalidPartySize) as refused:
        await book_place(session.id, resident(unique("big")), 3)
    assert refused.value.message == "You can book between 1 and 2 places for this activity."


async def test_a_resident_with_only_a_mobile_number_is_one_resident_and_gets_texts(db):
    phone = f"+4477009{uuid.uuid4().int % 10**5:05d}"
    who = ResidentDetails(name="Pat Phone", email=None, phone=phone, sms_opt_in=True, contact_by_email=False)
    first = await book_place((await make_session()).id, who, 1, support_note="  I use a wheelchair  ")
    second = await book_place((await make_session()).id, who, 1)
    assert first.resident_id == second.resident_id
    row = await Resident.select().where(Resident.id == first.resident_id).first()
    assert row["email"] is None and row["phone"] == phone and row["sms_consent_at"] is not None
    recipient = await booking_recipient(first.booking_id)
    assert recipient.channels(sms_available=True) == [Channel.SMS]
    note = await Booking.select(Booking.support_note).where(Booking.id == first.booking_id).first()
    assert note["support_note"] == "I use a wheelchair"


async def test_the_same_idempotency_key_returns_the_same_booking(db):
    session = await make_session(capacity=5)
    key = uuid.uuid4().hex
    first = await book_place(session.id, resident(unique("twice")), 2, idempotency_key=key)
    again = await book_place(session.id, resident(unique("twice")), 2, idempotency_key=key)
    assert again.repeated and not first.repeated
    assert again.booking_id == first.booking_id and again.reference == first.reference
    assert await Booking.count().where(Booking.session == session.id) == 1
    assert len(await confirmed_events(first.booking_id)) == 1
    assert (await Session.select(Session.booked).where(Session.id == session.id).first())["booked"] == 2


async def test_a_key_used_for_another_session_is_refused(db):
    key = uuid.uuid4().hex
    await book_place((await make_session()).id, resident(unique("one")), 1, idempotency_key=key)
    other = await make_session()
    with pytest.raises(IdempotencyKeyReused):
        await book_place(other.id, resident(unique("one")), 1, idempotency_key=key)
    assert await Booking.count().where(Booking.session == other.id) == 0


async def test_concurrent_requests_with_one_key_make_one_booking(db):
    session = await make_session(capacity=5)
    key = uuid.uuid4().hex
    who = resident(unique("racer"))
    results = await asyncio.gather(
        *(book_place(session.id, who, 1, idempotency_key=key) for _ in range(6)), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len({r.booking_id for r in results}) == 1
    assert sum(not r.repeated for r in results) == 1
    assert await Booking.count().where(Booking.session == session.id) == 1
    assert len(await confirmed_events(results[0].booking_id)) == 1
    assert (await Session.select(Session.booked).where(Session.id == session.id).first())["booked"] == 1


async def test_activity_defaults_apply_to_new_activities(db):
    activity = await make_activity()
    row = await Activity.select().where(Activity.id == activity.id).first()
    assert (row["booking_opens_days"], row["booking_closes_hours"], row["max_active_bookings"]) == (28, 1, 0)
