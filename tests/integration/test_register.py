"""The register's use cases against real SQLite and PostgreSQL: attendance, walk-ins, booking on someone's
behalf and moving up from the waiting list, each with its events and audit entry, never overbooking."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from booking.clock import FixedClock
from booking.errors import BookingAlreadyCancelled, SessionCancelled, SessionFull, SessionStarted
from booking.register import (
    InvalidAttendance,
    InvalidConsentSource,
    NotEnoughPlacesToMoveUp,
    RegisterClosed,
    RegisterNotOpen,
    mark_attendance,
    register_for,
)
from booking.register_bookings import (
    CancelReasonTooLong,
    WalkIn,
    add_walk_in,
    book_on_behalf,
    cancel_on_behalf,
    join_waitlist_on_behalf,
    move_up,
    validate_walk_in,
)
from booking.service import book_place, cancel_booking
from booking.staff import StaffUser
from booking.states import Attendance, BookingSource, ConsentSource, SessionStatus, StaffRole, WaitlistEntryStatus
from booking.tables import AuditEntry, Booking, Resident, Session
from booking.validation import BookingRequest, ResidentDetails
from booking.waitlist import join_waitlist, offer_free_places
from tests.builders import fill_session, make_activity, make_session, make_waitlist_session, resident, unique
from tests.integration.test_waitlist import entry_status, events_for, places
from tests.web.staff.support import make_staff


async def actor_at(session: Session) -> StaffUser:
    venue = (await Session.select(Session.room.venue.as_alias("venue")).where(Session.id == session.id).first())["venue"]
    member = await make_staff("volunteer", [venue])
    return StaffUser(member.id, member.email, member.name, StaffRole.VOLUNTEER, frozenset({venue}))


def now() -> datetime:
    return datetime.now(timezone.utc)


async def booking_row(booking_id: int) -> dict:
    return await Booking.select().where(Booking.id == booking_id).first()


async def audit_for(subject_id: int, action: str) -> list[dict]:
    return await AuditEntry.select().where((AuditEntry.subject_id == subject_id) & (AuditEntry.action == action))


async def booked(session_id: int, label: str, size: int = 1, **options):
    """A booking staff took by phone (no booking window), as registers close to the start need."""
    return await book_place(session_id, resident(unique(label)), size, source=BookingSource.PHONE, **options)


def request_for(name: str, places: int = 1, note: str = "") -> BookingRequest:
    email = f"{unique(name.lower().replace(' ', '-'))}@example.org"
    return BookingRequest(ResidentDetails(name, email, sms_opt_in=False), places, support_note=note)


# --- register_for -------------------------------------------------------------------------------


async def test_the_register_lists_confirmed_bookings_and_the_queue_in_order(db):
    session = await make_waitlist_session(3)
    ada = await book_place(session.id, ResidentDetails("Ada Lovelace", f"{unique('ada')}@example.org"), 2,
                           support_note="Needs a chair with arms")
    gone = await book_place(session.id, resident(unique("gone")), 1)
    await cancel_booking(gone.reference, authorised=True)
    await fill_session(session.id, 1)
    clock = FixedClock()
    first = await join_waitlist(session.id, resident(unique("first")), 2, clock)
    clock.advance(timedelta(seconds=1))
    second = await join_waitlist(session.id, resident(unique("second")), 1, clock)

    register = await register_for(session.id)

    booking_ids = {line.booking_id for line in register.lines}
    assert ada.booking_id in booking_ids and gone.booking_id not in booking_ids
    assert len(register.lines) == 2
    line = next(line for line in register.lines if line.booking_id == ada.booking_id)
    assert (line.name, line.party_size, line.support_note) == ("Ada Lovelace", 2, "Needs a chair with arms")
    assert line.email and line.email.endswith("@example.org")
    assert line.attendance is Attendance.UNMARKED
    assert [(w.entry_id, w.position) for w in register.waiting] == [(first.waitlist_entry_id, 1),
                                                                   (second.waitlist_entry_id, 2)]
    assert register.people_booked == 3 and register.marked == 0


# --- mark_attendance ----------------------------------------------------------------------------


async def test_marking_attendance_records_the_event_and_an_audit_entry_once(db):
    session = await make_session(5, starts_in=timedelta(minutes=30))
    booking = await booked(session.id, "att")
    actor = await actor_at(session)

    change = await mark_attendance(booking.booking_id, Attendance.ATTENDED, actor, now())
    again = await mark_attendance(booking.booking_id, "attended", actor, now())

    assert change.changed and not again.changed
    row = await booking_row(booking.booking_id)
    assert row["attendance"] == "attended" and row["attendance_marked_at"] is not None
    events = [e for e in await events_for(session.id, "booking.attendance_marked") if e["booking_id"] == booking.booking_id]
    assert events == [{"booking_id": booking.booking_id, "session_id": session.id, "attendance": "attended"}]
    [entry] = await audit_for(booking.booking_id, "booking.attendance_marked")
    assert entry["resident"] == booking.resident_id and entry["staff_member"] == actor.id
    assert json.loads(entry["before"]) == {"attendance": "unmarked"}
    assert json.loads(entry["after"]) == {"attendance": "attended"}
    assert "as attended" in entry["summary"]


async def test_a_mark_can_be_changed_and_taken_back(db):
    session = await make_session(5, starts_in=timedelta(minutes=-30))
    booking = await booked(session.id, "undo", now=now() - timedelta(hours=1))
    actor = await actor_at(session)

    await mark_attendance(booking.booking_id, Attendance.NO_SHOW, actor, now())
    await mark_attendance(booking.booking_id, Attendance.UNMARKED, actor, now())

    row = await booking_row(booking.booking_id)
    assert row["attendance"] == "unmarked" and row["attendance_marked_at"] is None
    events = [e["attendance"] for e in await events_for(session.id, "booking.attendance_marked")]
    assert events == ["no_show", "unmarked"]
    assert len(await audit_for(booking.booking_id, "booking.attendance_marked")) == 2


async def test_attendance_is_refused_outside_the_register_window_and_for_cancellations(db):
    later = await make_session(5, starts_in=timedelta(days=2))
    early = await book_place(later.id, resident(unique("early")), 1)
    actor = await actor_at(later)
    with pytest.raises(RegisterNotOpen):
        await mark_attendance(early.booking_id, Attendance.ATTENDED, actor, now())
    with pytest.raises(RegisterClosed):
        await mark_attendance(early.booking_id, Attendance.ATTENDED, actor, now() + timedelta(days=10))
    with pytest.raises(InvalidAttendance):
        await mark_attendance(early.booking_id, "present", actor, now() + timedelta(days=2))

    soon = await make_session(5, starts_in=timedelta(minutes=20))
    cancelled = await booked(soon.id, "cancelled")
    await cancel_booking(cancelled.reference, authorised=True)
    with pytest.raises(BookingAlreadyCancelled):
        await mark_attendance(cancelled.booking_id, Attendance.ATTENDED, actor, now())

    kept = await booked(soon.id, "kept")
    await Session.update({Session.status: SessionStatus.CANCELLED.value}).where(Session.id == soon.id)
    with pytest.raises(SessionCancelled):
        await mark_attendance(kept.booking_id, Attendance.ATTENDED, actor, now())
    assert (await booking_row(kept.booking_id))["attendance"] == "unmarked"
    assert await audit_for(early.booking_id, "booking.attendance_marked") == []


# --- walk-ins -----------------------------------------------------------------------------------


async def test_a_walk_in_without_contact_details_is_booked_and_marked_attended(db):
    session = await make_session(5, starts_in=timedelta(minutes=-10))
    actor = await actor_at(session)

    made = await add_walk_in(session.id, WalkIn("Grace Hopper", 2, support_note="Uses a wheelchair"), actor, now())

    row = await booking_row(made.booking_id)
    assert row["source"] == BookingSource.WALK_IN.value and row["attendance"] == "attended"
    assert row["consent_source"] == ConsentSource.IN_PERSON.value and row["booked_by"] == actor.id
    assert row["support_note"] == "Uses a wheelchair"
    person = await Resident.select().where(Resident.id == made.resident_id).first()
    assert (person["name"], person["email"], person["phone"]) == ("Grace Hopper", None, None)
    assert (await places(session.id))["booked"] == 2
    assert [e["booking_id"] for e in await events_for(session.id, "booking.attendance_marked")] == [made.booking_id]
    assert await events_for(session.id, "booking.confirmed") == []  # they are in the room: no confirmation
    [entry] = await audit_for(made.booking_id, "booking.walk_in_added")
    assert entry["resident"] == made.resident_id and "Grace Hopper" in entry["summary"]


async def test_a_walk_in_is_refused_when_the_session_is_full_and_never_overbooks(db):
    session = await make_session(3, starts_in=timedelta(minutes=15))
    await booked(session.id, "filler", 2)
    actor = await actor_at(session)

    with pytest.raises(SessionFull, match="The session is full: only 1 place is free; they need 2"):
        await add_walk_in(session.id, WalkIn("Too Many", 2), actor, now())
    assert (await places(session.id))["booked"] == 2

    # Six walk-ins at once for the one place left: exactly one gets it.
    results = await asyncio.gather(
        *(add_walk_in(session.id, WalkIn(f"Racer {n}", 1), actor, now()) for n in range(6)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, SessionFull) for r in results if isinstance(r, Exception))
    assert (await places(session.id))["booked"] == 3


async def test_a_walk_in_respects_places_held_for_offers(db):
    session = await make_waitlist_session(2, starts_in=timedelta(hours=3))
    taken = await fill_session(session.id, 2)
    await join_waitlist(session.id, resident(unique("held")), 1, FixedClock())
    await cancel_booking(taken[0].reference, authorised=True)
    await offer_free_places(session.id, FixedClock())
    assert (await places(session.id))["held"] == 1
    actor = await actor_at(session)
    with pytest.raises(SessionFull, match="1 place is held for waiting-list offers"):
        await add_walk_in(session.id, WalkIn("Walker", 1), actor, now() + timedelta(hours=2, minutes=30))


def test_walk_in_validation_needs_a_name_and_a_sensible_number():
    walk_in, errors = validate_walk_in(name=" ", party_size="two", email="nope", phone="123", max_party_size=4)
    assert walk_in is None
    assert set(errors) == {"name", "party_size", "email", "phone"}
    walk_in, errors = validate_walk_in(name="Ada", party_size="9", max_party_size=4)
    assert errors == {"party_size": "Enter a number of people between 1 and 4"}
    walk_in, errors = validate_walk_in(name="Ada", party_size="2", phone="07700 900 982", max_party_size=4)
    assert errors == {} and walk_in == WalkIn("Ada", 2, None, "+447700900982", "")


# --- booking on someone's behalf ----------------------------------------------------------------


async def test_booking_on_behalf_records_source_consent_who_and_sends_a_confirmation(db):
    # Booking opens only 1 day before for residents; staff may book further ahead.
    activity = await make_activity(booking_opens_days=1)
    session = await make_session(4, starts_in=timedelta(days=10), activity=activity)
    actor = await actor_at(session)

    made = await book_on_behalf(session.id, request_for("Mary Seacole", 2, "Hard of hearing"), ConsentSource.PHONE,
                                actor, now(), idempotency_key="k" * 20)
    repeat = await book_on_behalf(session.id, request_for("Mary Seacole", 2), "phone", actor, now(),
                                  idempotency_key="k" * 20)

    row = await booking_row(made.booking_id)
    assert row["source"] == BookingSource.PHONE.value and row["consent_source"] == ConsentSource.PHONE.value
    assert row["booked_by"] == actor.id and row["support_note"] == "Hard of hearing"
    assert repeat.repeated and repeat.booking_id == made.booking_id
    [confirmed] = await events_for(session.id, "booking.confirmed")
    assert confirmed["booking_id"] == made.booking_id
    [entry] = await audit_for(made.booking_id, "booking.made_on_behalf")
    assert entry["resident"] == made.resident_id and made.reference in entry["summary"]
    assert json.loads(entry["after"])["consent_source"] == "phone"


async def test_booking_on_behalf_in_person_and_capacity_always_applies(db):
    session = await make_session(2, starts_in=timedelta(days=1))
    actor = await actor_at(session)
    made = await book_on_behalf(session.id, request_for("Walter Tull"), "in_person", actor, now())
    row = await booking_row(made.booking_id)
    assert (row["source"], row["consent_source"]) == ("in_person", "in_person")

    with pytest.raises(SessionFull):
        await book_on_behalf(session.id, request_for("Big Party", 2), "phone", actor, now())
    with pytest.raises(InvalidConsentSource):
        await book_on_behalf(session.id, request_for("Claims Online"), "online", actor, now())
    assert (await places(session.id))["booked"] == 1


async def test_a_full_session_puts_them_on_the_waiting_list_instead(db):
    session = await make_waitlist_session(1)
    await fill_session(session.id, 1)
    actor = await actor_at(session)
    place = await join_waitlist_on_behalf(session.id, request_for("Noor Inayat Khan", 1), "phone", actor, now())
    assert place.position == 1
    assert await entry_status(place.waitlist_entry_id) == WaitlistEntryStatus.WAITING.value
    [entry] = await audit_for(place.waitlist_entry_id, "waitlist.joined_on_behalf")
    assert entry["resident"] == place.resident_id


# --- moving up from the waiting list ------------------------------------------------------------


async def test_move_up_books_a_waiting_person_when_enough_places_are_free(db):
    session = await make_waitlist_session(3)
    taken = await fill_session(session.id, 3)
    clock = FixedClock()
    ada = await join_waitlist(session.id, ResidentDetails("Ada", f"{unique('ada')}@example.org"), 2, clock)
    clock.advance(timedelta(seconds=1))
    bob = await join_waitlist(session.id, resident(unique("bob")), 1, clock)
    await cancel_booking(taken[0].reference, authorised=True)
    actor = await actor_at(session)

    with pytest.raises(NotEnoughPlacesToMoveUp, match="^Only 1 place is free; Ada needs 2.$"):
        await move_up(ada.waitlist_entry_id, actor, now())
    moved = await move_up(bob.waitlist_entry_id, actor, now())

    row = await booking_row(moved.booking_id)
    assert row["source"] == BookingSource.WAITLIST.value and row["booked_by"] == actor.id
    assert await entry_status(bob.waitlist_entry_id) == WaitlistEntryStatus.BOOKED.value
    assert await entry_status(ada.waitlist_entry_id) == WaitlistEntryStatus.WAITING.value
    assert (await places(session.id))["booked"] == 3
    assert moved.booking_id in [e["booking_id"] for e in await events_for(session.id, "booking.confirmed")]
    [entry] = await audit_for(moved.booking_id, "waitlist.moved_up")
    assert entry["resident"] == bob.resident_id


async def test_move_up_respects_places_held_by_offers_and_accepts_an_offer_for_them(db):
    session = await make_waitlist_session(3)
    taken = await fill_session(session.id, 3)
    clock = FixedClock()
    ada = await join_waitlist(session.id, ResidentDetails("Ada", f"{unique('ada')}@example.org"), 2, clock)
    clock.advance(timedelta(seconds=1))
    bob = await join_waitlist(session.id, ResidentDetails("Bob", f"{unique('bob')}@example.org"), 1, clock)
    for booking in taken[:2]:
        await cancel_booking(booking.reference, authorised=True)
    await offer_free_places(session.id, clock)  # fit-first: Ada's 2 places are held for her
    assert (await places(session.id))["held"] == 2
    actor = await actor_at(session)

    with pytest.raises(NotEnoughPlacesToMoveUp, match="No places are free; Bob needs 1. 2 places are held"):
        await move_up(bob.waitlist_entry_id, actor, now())
    moved = await move_up(ada.waitlist_entry_id, actor, now())

    assert await places(session.id) == {"capacity": 3, "booked": 3, "held": 0}
    assert await entry_status(ada.waitlist_entry_id) == WaitlistEntryStatus.BOOKED.value
    assert (await booking_row(moved.booking_id))["party_size"] == 2


# --- cancel_on_behalf ---------------------------------------------------------------------------


async def test_cancelling_for_someone_frees_the_places_tells_them_and_is_audited(db):
    session = await make_session(capacity=4, starts_in=timedelta(days=2))
    booking = await booked(session.id, "ada", 2)
    actor = await actor_at(session)

    cancellation = await cancel_on_behalf(booking.booking_id, ConsentSource.PHONE, "  Poorly  ", actor, now())

    assert cancellation.session_id == session.id and cancellation.places_left == 4
    row = await booking_row(booking.booking_id)
    assert (row["status"], row["cancel_reason"]) == ("cancelled", "Poorly")
    assert await places(session.id) == {"capacity": 4, "booked": 0, "held": 0}
    [event] = await events_for(session.id, "booking.cancelled")  # the resident's message comes from it
    assert event["booking_id"] == booking.booking_id and event["reason"] == "Poorly"
    [entry] = await audit_for(booking.booking_id, "booking.cancelled")
    assert entry["staff_member"] == actor.id and "as they asked by phone" in entry["summary"]
    assert json.loads(entry["after"]) == {"status": "cancelled", "asked": "phone", "reason": "Poorly"}


async def test_cancelling_for_someone_is_refused_once_started_or_cancelled_and_changes_nothing(db):
    started = await make_session(capacity=4, starts_in=timedelta(minutes=30))
    late = await booked(started.id, "late")
    await Session.update({Session.starts_at: Session.starts_at - timedelta(minutes=35)}).where(Session.id == started.id)
    actor = await actor_at(started)
    with pytest.raises(SessionStarted) as refused:
        await cancel_on_behalf(late.booking_id, ConsentSource.IN_PERSON, "", actor, now())
    assert "Mark them as a no-show" in refused.value.message
    assert (await booking_row(late.booking_id))["status"] == "confirmed"

    session = await make_session(capacity=4, starts_in=timedelta(days=2))
    gone = await booked(session.id, "gone")
    await cancel_booking(gone.reference, authorised=True)
    with pytest.raises(BookingAlreadyCancelled):
        await cancel_on_behalf(gone.booking_id, ConsentSource.PHONE, "", actor, now())
    kept = await booked(session.id, "kept")
    with pytest.raises(CancelReasonTooLong):
        await cancel_on_behalf(kept.booking_id, ConsentSource.PHONE, "x" * 501, actor, now())
    assert (await booking_row(kept.booking_id))["status"] == "confirmed"
    assert await audit_for(kept.booking_id, "booking.cancelled") == []
