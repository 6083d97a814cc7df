"""Referrals against real SQLite and PostgreSQL: book straight away, hold and confirm, expire, outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.errors import AlreadyBooked, SessionFull
from booking.programme import cancel_session
from booking.referrals import (
    CancelReasonTooLong,
    NotAPartner,
    ReferralAlreadyAccepted,
    ReferralAlreadyCancelled,
    ReferralBookingAlreadyCancelled,
    ReferralHoldExpired,
    ReferralHoldRanOut,
    ReferralNotFound,
    ReferralSessionCancelled,
    ReferralSessionStarted,
    SessionFilters,
    accept_referral,
    cancel_referral,
    create_referral,
    expire_referrals,
    parse_session_filters,
    partner_referral,
    partner_referrals,
    referral_figures,
    referral_for_link,
    referral_link_token,
    referrals_for_bookings,
    sessions_for_referral,
)
from booking.service import book_place, cancel_booking
from booking.staff import StaffUser
from booking.states import (
    ActivityCategory,
    Attendance,
    BookingSource,
    ConsentSource,
    ReferralMode,
    ReferralOutcome,
    StaffRole,
)
from booking.tables import AuditEntry, Booking, Referral, Session
from events.tables import OutboxEvent
from tests.builders import fill_session, make_activity, make_room, make_session, make_venue, resident, unique
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


# --- Cancelling a referral ----------------------------------------------------------------------


async def status_of(referral_id: int) -> str:
    return (await Referral.select(Referral.status).where(Referral.id == referral_id).first())["status"]


async def session_events(event_type: str, session_id: int) -> list[dict]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == event_type)
    data = [json.loads(row["payload"])["data"] for row in rows]
    return [d for d in data if d["session_id"] == session_id]


async def test_cancelling_a_hold_gives_the_places_back_and_records_the_events(db):
    session = await make_session(capacity=3, starts_in=timedelta(days=10))
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(worker, request(session.id, unique("r"), party_size=2), now)
    assert len(await session_events("availability.changed", session.id)) == 1

    done = await cancel_referral(worker, made.referral_id, "  They have moved away  ", now + timedelta(hours=1))

    assert done.booking_id is None and done.party_size == 2
    assert await places(session.id) == {"capacity": 3, "booked": 0, "held": 0}
    row = await Referral.select(Referral.status, Referral.decided_at).where(Referral.id == made.referral_id).first()
    assert row == {"status": "cancelled", "decided_at": now + timedelta(hours=1)}
    [event] = await events_of("referral.cancelled", made.referral_id)
    assert event == {
        "referral_id": made.referral_id,
        "partner_id": made.partner_id,
        "session_id": session.id,
        "resident_id": made.resident_id,
        "party_size": 2,
        "booking_id": None,
        "reason": "They have moved away",
    }
    changes = await session_events("availability.changed", session.id)
    assert [change["places_left"] for change in changes] == [1, 3]
    [view] = await partner_referrals(made.partner_id)
    assert view.outcome is ReferralOutcome.CANCELLED and not view.can_cancel(now)
    [audit] = await AuditEntry.select().where(
        (AuditEntry.action == "referral.cancelled") & (AuditEntry.subject_id == made.referral_id)
    )
    assert audit["staff_member"] == worker.id and audit["resident"] == made.resident_id and audit["venue"] is not None


async def test_cancelling_a_booked_referral_cancels_its_booking(db):
    session = await make_session(capacity=4)
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(worker, request(session.id, unique("r"), mode=ReferralMode.BOOK, party_size=2), now)

    done = await cancel_referral(worker, made.referral_id, "", now)

    assert done.booking_id == made.booking.booking_id
    assert await places(session.id) == {"capacity": 4, "booked": 0, "held": 0}
    booking = await Booking.select(Booking.status, Booking.cancel_reason).where(Booking.id == done.booking_id).first()
    assert booking["status"] == "cancelled" and "who referred you" in booking["cancel_reason"]
    assert [e["booking_id"] for e in await session_events("booking.cancelled", session.id)] == [done.booking_id]
    [event] = await events_of("referral.cancelled", made.referral_id)
    assert event["booking_id"] == done.booking_id and event["reason"] == ""
    assert (await partner_referral(made.partner_id, made.referral_id)).outcome is ReferralOutcome.CANCELLED


async def test_cancelling_a_confirmed_hold_cancels_the_booking_it_became(db):
    session = await make_session(capacity=4, starts_in=timedelta(days=10))
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(worker, request(session.id, unique("r")), now)
    confirmation = await accept_referral(made.referral_id, now)

    done = await cancel_referral(worker, made.referral_id, "Found a closer group", now)

    assert done.booking_id == confirmation.booking_id
    assert await places(session.id) == {"capacity": 4, "booked": 0, "held": 0}
    booking = await Booking.select(Booking.status, Booking.cancel_reason).where(Booking.id == done.booking_id).first()
    assert booking == {"status": "cancelled", "cancel_reason": "Found a closer group"}


async def test_a_partner_cannot_cancel_another_partners_referral(db):
    session = await make_session(capacity=4)
    ours, theirs = await make_link_worker(), await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(theirs, request(session.id, unique("r")), now)

    for referral_id in (made.referral_id, 2**31 - 1):
        with pytest.raises(ReferralNotFound) as refused:
            await cancel_referral(ours, referral_id, "", now)
        assert "another organisation" in refused.value.message
    assert await places(session.id) == {"capacity": 4, "booked": 0, "held": 1}
    assert await status_of(made.referral_id) == "created"
    assert await events_of("referral.cancelled", made.referral_id) == []


async def test_an_ended_referral_cannot_be_cancelled_and_says_why(db):
    worker = await make_link_worker()
    now = datetime.now(UTC)
    ran_out_session = await make_session(capacity=4, starts_in=timedelta(days=10))
    ran_out = await create_referral(worker, request(ran_out_session.id, unique("a"), days=1), now)
    await expire_referrals(now + timedelta(days=1))
    swept_late = await create_referral(worker, request(ran_out_session.id, unique("b"), days=1), now)
    cancelled = await create_referral(worker, request(ran_out_session.id, unique("c")), now)
    await cancel_referral(worker, cancelled.referral_id, "", now)
    started_session = await make_session(capacity=4)
    started = await create_referral(worker, request(started_session.id, unique("d"), mode=ReferralMode.BOOK), now)
    by_resident = await create_referral(worker, request(started_session.id, unique("e"), mode=ReferralMode.BOOK), now)
    await cancel_booking(by_resident.booking.reference, authorised=True, now=now)
    called_off = await make_session(capacity=4)
    on_cancelled = await create_referral(worker, request(called_off.id, unique("f"), mode=ReferralMode.BOOK), now)
    await cancel_session(called_off.id, "Room flooded", now)
    before = {s.id: await places(s.id) for s in (ran_out_session, started_session, called_off)}

    cases = [
        (ran_out.referral_id, now + timedelta(days=1), ReferralHoldRanOut),
        (swept_late.referral_id, now + timedelta(days=1, minutes=1), ReferralHoldRanOut),  # past its time, not swept
        (cancelled.referral_id, now, ReferralAlreadyCancelled),
        (started.referral_id, started_session.starts_at + timedelta(minutes=1), ReferralSessionStarted),
        (by_resident.referral_id, now, ReferralBookingAlreadyCancelled),
        (on_cancelled.referral_id, now, ReferralSessionCancelled),
    ]
    for referral_id, when, error in cases:
        with pytest.raises(error) as refused:
            await cancel_referral(worker, referral_id, "", when)
        assert refused.value.http_status == 409 and refused.value.message.startswith("This referral ")
    assert {s.id: await places(s.id) for s in (ran_out_session, started_session, called_off)} == before
    assert len(await events_of("referral.cancelled", cancelled.referral_id)) == 1


async def test_a_reason_longer_than_the_limit_is_refused(db):
    session = await make_session(capacity=4)
    worker = await make_link_worker()
    made = await create_referral(worker, request(session.id, unique("r")), datetime.now(UTC))
    with pytest.raises(CancelReasonTooLong):
        await cancel_referral(worker, made.referral_id, "x" * 501, datetime.now(UTC))
    assert await places(session.id) == {"capacity": 4, "booked": 0, "held": 1}


# --- Finding a session to refer to --------------------------------------------------------------


async def test_the_session_search_filters_by_title_venue_category_and_local_date(db):
    label = unique("Pottery")
    now = datetime.now(UTC)
    venue = await make_venue()
    craft = await make_activity(title=f"Wheel {label} Taster", category=ActivityCategory.CRAFT.value)
    social = await make_activity(title=f"{label} coffee", category=ActivityCategory.SOCIAL.value)
    here = await make_room(venue=venue)
    soon = await make_session(activity=craft, room=here, starts_in=timedelta(days=2))
    later = await make_session(activity=craft, room=here, starts_in=timedelta(days=9))
    elsewhere = await make_session(activity=social, starts_in=timedelta(days=3))
    full = await make_session(capacity=1, activity=craft, room=here, starts_in=timedelta(days=4))
    await fill_session(full.id, 1)
    await make_session(activity=await make_activity(title="Chess club"), starts_in=timedelta(days=2))

    async def found(**filters) -> list[int]:
        return [choice.id for choice in (await sessions_for_referral(now, SessionFilters(**filters))).sessions]

    assert await found(text=label.upper()) == [soon.id, elsewhere.id, later.id]  # any case; the full one is left out
    assert await found(text="100%") == []  # a wildcard is just a character
    assert await found(text=label, venue_id=venue.id) == [soon.id, later.id]
    assert await found(text=label, category=ActivityCategory.SOCIAL) == [elsewhere.id]
    from_day = (later.starts_at - timedelta(days=1)).date()
    assert await found(text=label, date_from=from_day) == [later.id]
    some = await sessions_for_referral(now, SessionFilters(text=label), limit=2)
    assert [choice.id for choice in some.sessions] == [soon.id, elsewhere.id] and some.more
    assert not (await sessions_for_referral(now, SessionFilters(text=label), limit=3)).more


async def test_the_from_date_is_the_venues_own_date(db):
    label = unique("Tai chi")
    now = datetime.now(UTC)
    activity = await make_activity(title=label)
    zone = ZoneInfo("Pacific/Auckland")
    auckland = await make_room(venue=await make_venue(time_zone="Pacific/Auckland"))
    # Half past midnight there: still the day before in UTC, so a UTC date would leave it out.
    local_day = (now.astimezone(zone) + timedelta(days=5)).date()
    starts = datetime.combine(local_day, time(0, 30), tzinfo=zone)
    session = await make_session(activity=activity, room=auckland, starts_in=starts - now.replace(microsecond=0))
    assert session.starts_at.astimezone(UTC).date() < local_day

    async def found(day) -> list[int]:
        return [c.id for c in (await sessions_for_referral(now, SessionFilters(text=label, date_from=day))).sessions]

    assert await found(local_day) == [session.id]
    assert await found(local_day + timedelta(days=1)) == []


def test_search_values_that_cannot_be_used_are_named():
    filters, errors = parse_session_filters({"activity": "  yoga ", "venue": "abc", "category": "nope", "from": "3/3"})
    assert filters == SessionFilters(text="yoga")
    assert set(errors) == {"venue", "category", "from"}
    filters, errors = parse_session_filters({"venue": "7", "category": "craft", "from": "2027-03-03"})
    assert errors == {} and filters.venue_id == 7 and filters.category is ActivityCategory.CRAFT
    assert filters.date_from.isoformat() == "2027-03-03"
