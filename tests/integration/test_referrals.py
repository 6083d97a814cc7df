"""Referrals against real SQLite and PostgreSQL: book straight away, hold and confirm, expire, outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from booking.errors import AlreadyBooked, SessionFull
from booking.referrals import (
    NotAPartner,
    ReferralAlreadyAccepted,
    ReferralHoldExpired,
    accept_referral,
    create_referral,
    expire_referrals,
    partner_referrals,
    referral_figures,
    referral_for_link,
    referral_link_token,
    referrals_for_bookings,
)
from booking.service import book_place
from booking.staff import StaffUser
from booking.states import Attendance, BookingSource, ConsentSource, ReferralMode, ReferralOutcome, StaffRole
from booking.tables import Booking, Referral, Session
from events.tables import OutboxEvent
from tests.builders import fill_session, make_session, resident, unique
from tests.referral_support import make_link_worker, make_partner
from tests.referral_support import referral_request as request
from tests.web.staff.support import make_staff

SECRET = "test-secret"


async def places(session_id: int) -> dict:
    return await Session.select(Session.capacity, Session.booked, Session.held).where(Session.id == session_id).first()


async def events_of(event_type: str, referral_id: int) -> list[dict]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == event_type)
    data = [json.loads(row["payload"])["data"] for row in rows]
    return [d for d in data if d["referral_id"] == referral_id]


async def test_booking_straight_away_takes_places_and_records_the_event(db):
    session = await make_session(capacity=4)
    worker = await make_link_worker()
    made = await create_referral(
        worker, request(session.id, unique("r"), mode=ReferralMode.BOOK, party_size=2), datetime.now(UTC)
    )
    assert made.booking is not None
    assert await places(session.id) == {"capacity": 4, "booked": 2, "held": 0}
    booking = await Booking.select().where(Booking.id == made.booking.booking_id).first()
    assert booking["source"] == BookingSource.REFERRAL.value
    assert booking["consent_source"] == ConsentSource.PHONE.value
    [event] = await events_of("referral.created", made.referral_id)
    assert event["mode"] == "book" and event["booking_id"] == made.booking.booking_id and event["expires_at"] is None
    referral = await Referral.select().where(Referral.id == made.referral_id).first()
    assert referral["consent_at"] is not None and referral["consent_source"] == "phone"


async def test_a_hold_takes_held_places_the_public_cannot_book(db):
    session = await make_session(capacity=2, starts_in=timedelta(days=10))
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(worker, request(session.id, unique("r"), party_size=2, days=3), now)
    assert made.booking is None
    assert made.expires_at == now + timedelta(days=3)
    assert await places(session.id) == {"capacity": 2, "booked": 0, "held": 2}
    with pytest.raises(SessionFull):
        await book_place(session.id, resident(unique("public")), 1)
    [event] = await events_of("referral.created", made.referral_id)
    assert event["mode"] == "hold" and event["booking_id"] is None and event["expires_at"].endswith("Z")


async def test_a_hold_runs_out_two_hours_before_the_start_at_the_latest(db):
    session = await make_session(capacity=2, starts_in=timedelta(days=2))
    made = await create_referral(await make_link_worker(), request(session.id, unique("r"), days=3), datetime.now(UTC))
    assert made.expires_at == session.starts_at - timedelta(hours=2)


async def test_a_referral_never_overbooks(db):
    session = await make_session(capacity=3)
    await fill_session(session.id, 2)
    worker = await make_link_worker()
    for mode in ReferralMode:
        with pytest.raises(SessionFull):
            await create_referral(worker, request(session.id, unique("r"), mode=mode, party_size=2), datetime.now(UTC))
    assert await places(session.id) == {"capacity": 3, "booked": 2, "held": 0}
    assert not await Referral.exists().where(Referral.session == session.id)


async def test_confirming_moves_held_places_to_booked_once(db):
    session = await make_session(capacity=5)
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(worker, request(session.id, unique("r"), party_size=2), now)
    confirmation = await accept_referral(made.referral_id, now + timedelta(hours=1))
    assert await places(session.id) == {"capacity": 5, "booked": 2, "held": 0}
    referral = await Referral.select(Referral.status, Referral.booking).where(Referral.id == made.referral_id).first()
    assert referral == {"status": "accepted", "booking": confirmation.booking_id}
    [event] = await events_of("referral.accepted", made.referral_id)
    assert event["booking_id"] == confirmation.booking_id and event["reference"] == confirmation.reference
    with pytest.raises(ReferralAlreadyAccepted):
        await accept_referral(made.referral_id, now + timedelta(hours=2))
    assert await places(session.id) == {"capacity": 5, "booked": 2, "held": 0}


async def test_expiry_gives_the_places_back_and_records_the_event(db):
    session = await make_session(capacity=3)
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(worker, request(session.id, unique("r"), party_size=2, days=1), now)
    early = await expire_referrals(now + timedelta(hours=23))  # other tests' holds may expire here
    assert made.referral_id not in [e.referral_id for e in early]
    assert await places(session.id) == {"capacity": 3, "booked": 0, "held": 2}
    expired = await expire_referrals(now + timedelta(days=1))
    assert made.referral_id in [e.referral_id for e in expired]
    assert await places(session.id) == {"capacity": 3, "booked": 0, "held": 0}
    [event] = await events_of("referral.expired", made.referral_id)
    assert event["party_size"] == 2 and event["session_id"] == session.id
    with pytest.raises(ReferralHoldExpired):
        await accept_referral(made.referral_id, now + timedelta(days=1, minutes=1))
    assert await places(session.id) == {"capacity": 3, "booked": 0, "held": 0}


async def test_confirming_after_the_time_but_before_the_sweep_is_refused(db):
    session = await make_session(capacity=3)
    now = datetime.now(UTC)
    made = await create_referral(await make_link_worker(), request(session.id, unique("r"), days=1), now)
    with pytest.raises(ReferralHoldExpired):
        await accept_referral(made.referral_id, now + timedelta(days=1))
    assert await places(session.id) == {"capacity": 3, "booked": 0, "held": 1}


async def test_the_same_resident_cannot_be_referred_twice_to_one_session(db):
    session = await make_session(capacity=5)
    worker = await make_link_worker()
    label = unique("r")
    await create_referral(worker, request(session.id, label), datetime.now(UTC))
    with pytest.raises(AlreadyBooked):
        await create_referral(worker, request(session.id, label, mode=ReferralMode.BOOK), datetime.now(UTC))
    assert await places(session.id) == {"capacity": 5, "booked": 0, "held": 1}


async def test_only_partner_staff_linked_to_a_partner_can_refer(db):
    session = await make_session(capacity=5)
    unlinked = await make_staff(StaffRole.PARTNER)
    coordinator = await make_staff(StaffRole.COORDINATOR)
    for member, role in ((unlinked, StaffRole.PARTNER), (coordinator, StaffRole.COORDINATOR)):
        actor = StaffUser(member.id, member.email, member.name, role, frozenset())
        with pytest.raises(NotAPartner):
            await create_referral(actor, request(session.id, unique("r")), datetime.now(UTC))
    assert await places(session.id) == {"capacity": 5, "booked": 0, "held": 0}


async def test_a_partner_sees_only_its_own_referrals_and_outcomes_only_with_consent(db):
    session = await make_session(capacity=10)
    ours, theirs = await make_partner(), await make_partner()
    worker, other_worker = await make_link_worker(ours), await make_link_worker(theirs)
    now = datetime.now(UTC)
    came = await create_referral(worker, request(session.id, unique("came"), mode=ReferralMode.BOOK), now)
    hidden = await create_referral(
        worker, request(session.id, unique("hidden"), mode=ReferralMode.BOOK, share=False), now
    )
    waiting = await create_referral(worker, request(session.id, unique("waiting")), now)
    elsewhere = await create_referral(other_worker, request(session.id, unique("else"), mode=ReferralMode.BOOK), now)
    await book_place(session.id, resident(unique("public")), 1)  # not referred
    for made in (came, hidden):
        await Booking.update({Booking.attendance: Attendance.ATTENDED.value}).where(
            Booking.id == made.booking.booking_id
        )
    rows = {row.id: row.outcome for row in await partner_referrals(ours.id)}
    assert rows == {
        came.referral_id: ReferralOutcome.ATTENDED,
        hidden.referral_id: ReferralOutcome.NOT_SHARED,
        waiting.referral_id: ReferralOutcome.WAITING,
    }
    assert [row.id for row in await partner_referrals(theirs.id)] == [elsewhere.referral_id]


async def test_the_report_counts_referrals_and_attendance_per_partner(db):
    session = await make_session(capacity=10)
    partner = await make_partner()
    worker = await make_link_worker(partner)
    now = datetime.now(UTC)
    came = await create_referral(worker, request(session.id, unique("a"), mode=ReferralMode.BOOK), now)
    missed = await create_referral(worker, request(session.id, unique("b"), mode=ReferralMode.BOOK), now)
    await create_referral(worker, request(session.id, unique("c")), now)
    await Booking.update({Booking.attendance: Attendance.ATTENDED.value}).where(Booking.id == came.booking.booking_id)
    await Booking.update({Booking.attendance: Attendance.NO_SHOW.value}).where(Booking.id == missed.booking.booking_id)
    [figures] = [f for f in await referral_figures() if f.partner_id == partner.id]
    assert (figures.referrals, figures.booked, figures.attended, figures.did_not_attend, figures.expired) == (
        3,
        2,
        1,
        1,
        0,
    )


async def test_the_register_learns_who_referred_a_booking(db):
    session = await make_session(capacity=10)
    partner = await make_partner("Hednesford Link Workers")
    made = await create_referral(
        await make_link_worker(partner), request(session.id, unique("r"), mode=ReferralMode.BOOK), datetime.now(UTC)
    )
    public = await book_place(session.id, resident(unique("public")), 1)
    found = await referrals_for_bookings([made.booking.booking_id, public.booking_id])
    assert list(found) == [made.booking.booking_id]
    assert found[made.booking.booking_id].partner_name == "Hednesford Link Workers"
    assert found[made.booking.booking_id].note_for_staff == "Uses a wheelchair"


async def test_confirm_links_are_signed(db):
    session = await make_session(capacity=3)
    made = await create_referral(await make_link_worker(), request(session.id, unique("r")), datetime.now(UTC))
    token = await referral_link_token(SECRET, made.referral_id)
    assert await referral_for_link(SECRET, token) == made.referral_id
    assert await referral_for_link("another-secret", token) is None
    assert await referral_for_link(SECRET, f"{made.referral_id}.forged") is None
    assert await referral_for_link(SECRET, "not-a-token") is None
