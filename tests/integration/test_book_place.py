"""book_place and cancel_booking against real SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from booking.errors import (
    AlreadyBooked,
    BookingAlreadyCancelled,
    BookingNotFound,
    InvalidPartySize,
    SessionCancelled,
    SessionFull,
    SessionNotFound,
    SessionStarted,
)
from booking.references import is_reference
from booking.service import book_place, cancel_booking
from booking.states import BookingStatus, SessionStatus
from booking.tables import Booking, Resident, Session
from booking.validation import ResidentDetails
from events.tables import OutboxEvent
from tests.builders import make_session


def person(n: int = 1) -> ResidentDetails:
    return ResidentDetails(name=f"Resident {n}", email=f"resident{n}@example.org")


async def outbox_for(booking_id: int, event_type: str) -> list[dict]:
    rows = await OutboxEvent.select().where(OutboxEvent.type == event_type)
    events = [json.loads(r["payload"]) for r in rows]
    return [e for e in events if e["data"].get("booking_id") == booking_id]


async def test_booking_confirms_takes_places_and_writes_one_cloudevent(db):
    session = await make_session(capacity=5)
    confirmation = await book_place(session.id, person(), 2)

    assert confirmation.status is BookingStatus.CONFIRMED
    assert is_reference(confirmation.reference)
    assert confirmation.places_left == 3
    stored = await Session.select(Session.booked).where(Session.id == session.id).first()
    assert stored["booked"] == 2
    booking = await Booking.select().where(Booking.reference == confirmation.reference).first()
    assert booking["party_size"] == 2 and booking["status"] == "confirmed"
    assert booking["manage_token_hash"] != confirmation.manage_token

    [event] = await outbox_for(confirmation.booking_id, "booking.confirmed")
    assert event["specversion"] == "1.0" and event["type"] == "booking.confirmed"
    assert event["data"]["reference"] == confirmation.reference
    assert event["data"]["session_id"] == session.id


async def test_full_session_refuses_and_changes_nothing(db):
    session = await make_session(capacity=3)
    await book_place(session.id, person(1), 2)
    with pytest.raises(SessionFull):
        await book_place(session.id, person(2), 2)
    stored = await Session.select(Session.booked).where(Session.id == session.id).first()
    assert stored["booked"] == 2
    assert await Booking.count().where(Booking.session == session.id) == 1


async def test_same_email_cannot_hold_two_active_bookings(db):
    session = await make_session(capacity=10)
    await book_place(session.id, person(7), 1)
    with pytest.raises(AlreadyBooked):
        await book_place(session.id, ResidentDetails("Another name", "RESIDENT7@example.org"), 1)
    assert await Resident.count().where(Resident.email == "resident7@example.org") == 1
    stored = await Session.select(Session.booked).where(Session.id == session.id).first()
    assert stored["booked"] == 1


async def test_cancel_frees_places_and_allows_rebooking(db):
    session = await make_session(capacity=2)
    first = await book_place(session.id, person(1), 2)
    cancellation = await cancel_booking(first.reference, manage_token=first.manage_token, reason="Unwell")
    assert cancellation.places_left == 2
    [event] = await outbox_for(first.booking_id, "booking.cancelled")
    assert event["data"]["reason"] == "Unwell"
    again = await book_place(session.id, person(1), 2)
    assert again.places_left == 0
    with pytest.raises(BookingAlreadyCancelled):
        await cancel_booking(first.reference, manage_token=first.manage_token)


async def test_cancel_needs_the_right_token(db):
    session = await make_session(capacity=2)
    booking = await book_place(session.id, person(1), 1)
    with pytest.raises(BookingNotFound):
        await cancel_booking(booking.reference, manage_token="not-the-token")
    with pytest.raises(BookingNotFound):
        await cancel_booking("AAA-AAA", manage_token=booking.manage_token)
    stored = await Booking.select(Booking.status).where(Booking.id == booking.booking_id).first()
    assert stored["status"] == "confirmed"


@pytest.mark.parametrize("size", [0, -1, 5])
async def test_party_size_outside_the_activity_limit_is_refused(db, size):
    session = await make_session(capacity=10, max_party_size=4)
    with pytest.raises(InvalidPartySize):
        await book_place(session.id, person(), size)
    assert await OutboxEvent.count().where(OutboxEvent.payload.like(f'%"session_id":{session.id},%')) == 0


async def test_cancelled_started_and_missing_sessions_are_refused(db):
    cancelled = await make_session(status=SessionStatus.CANCELLED)
    with pytest.raises(SessionCancelled):
        await book_place(cancelled.id, person(), 1)
    started = await make_session(starts_in=timedelta(minutes=-5))
    with pytest.raises(SessionStarted):
        await book_place(started.id, person(), 1)
    with pytest.raises(SessionNotFound):
        await book_place(987654321, person(), 1)
