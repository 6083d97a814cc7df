"""A resident's own data against real SQLite and PostgreSQL: export, contact choices, erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from booking.clock import FixedClock
from booking.manage_links import find_booking_for_manage_link, signed_manage_token
from booking.privacy import (
    ERASED_NAME,
    PreferenceChoice,
    change_contact_preferences,
    erase_resident,
    export_resident_data,
    read_preferences,
    resident_summary,
)
from booking.referrals import ReferralNotOpen, accept_referral, create_referral
from booking.service import book_place, cancel_booking
from booking.sign_in import Contact, request_sign_in_link
from booking.states import ReferralMode, ReferralStatus
from booking.tables import Booking, Referral, Resident, Session, SignInLink, WaitlistEntry, WaitlistOffer
from booking.validation import ResidentDetails
from booking.waitlist import join_waitlist, offer_free_places
from commons.settings import get_settings
from events.tables import OutboxEvent
from tests.builders import fill_session, make_session, make_waitlist_session, resident, unique
from tests.referral_support import make_link_worker, referral_request


async def events_of(event_type: str) -> list[dict]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == event_type).order_by(OutboxEvent.id)
    return [json.loads(row["payload"])["data"] for row in rows]


async def resident_row(resident_id: int) -> dict:
    return await Resident.select().where(Resident.id == resident_id).first()


def person(label: str, **extra) -> ResidentDetails:
    return ResidentDetails(name=f"Person {label}", email=f"{label}@example.org", **extra)


# --- Erasure ------------------------------------------------------------------------------------


async def test_erasure_cancels_upcoming_bookings_and_keeps_them_without_personal_data(db):
    who = person(unique("erase"), phone="+447700900123", sms_opt_in=True)
    upcoming = await make_session(capacity=5)
    past = await make_session(capacity=5)
    booked = await book_place(upcoming.id, who, 2, support_note="I use a wheelchair")
    attended = await book_place(past.id, who, 1, support_note="Hearing loop please")
    await Session.update({Session.starts_at: datetime.now(UTC) - timedelta(days=3)}).where(Session.id == past.id)
    await request_sign_in_link(Contact(email=who.email), now=datetime.now(UTC))

    erasure = await erase_resident(booked.resident_id)

    assert erasure.erased and erasure.cancelled_references == [booked.reference]
    row = await resident_row(booked.resident_id)
    assert row["name"] == ERASED_NAME and row["email"] is None and row["phone"] is None
    assert not row["contact_by_email"] and not row["contact_by_sms"] and row["sms_consent_at"] is None
    assert row["erased_at"] is not None
    bookings = await Booking.select().where(Booking.resident == booked.resident_id).order_by(Booking.id)
    assert [(b["reference"], b["status"], b["party_size"]) for b in bookings] == [
        (booked.reference, "cancelled", 2),
        (attended.reference, "confirmed", 1),  # a past booking stays as it was, for statistics
    ]
    assert all(b["support_note"] == "" and b["cancel_reason"] == "" and b["manage_token_hash"] == "" for b in bookings)
    places = await Session.select(Session.booked).where(Session.id == upcoming.id).first()
    assert places["booked"] == 0  # the places went back to the session
    [cancelled] = [e for e in await events_of("booking.cancelled") if e["reference"] == booked.reference]
    assert cancelled["places_left"] == 5
    assert await SignInLink.count().where(SignInLink.resident == booked.resident_id) == 0
    assert {"resident_id": booked.resident_id} in await events_of("resident.erased")


async def test_erasure_revokes_every_manage_link(db):
    who = person(unique("links"))
    session = await make_session()
    booked = await book_place(session.id, who, 1)
    row = await Booking.select(Booking.manage_token_hash).where(Booking.id == booked.booking_id).first()
    secret = get_settings().secret_key
    signed = signed_manage_token(secret, booked.reference, row["manage_token_hash"])
    assert await find_booking_for_manage_link(secret, signed) is not None

    await erase_resident(booked.resident_id)

    assert await find_booking_for_manage_link(secret, signed) is None
    assert await find_booking_for_manage_link(secret, booked.manage_token) is None


async def test_erasure_removes_waiting_list_places_and_passes_open_offers_on(db):
    session = await make_waitlist_session(capacity=2)
    bookings = await fill_session(session.id, 2)
    clock = FixedClock()
    leaver = person(unique("leaver"))
    first = await join_waitlist(session.id, leaver, 1, clock)
    clock.advance(timedelta(seconds=1))
    second = await join_waitlist(session.id, resident(unique("next")), 1, clock)
    other = await make_waitlist_session(capacity=1)
    await fill_session(other.id, 1)
    waiting = await join_waitlist(other.id, leaver, 1, clock)
    await cancel_booking(bookings[0].reference, authorised=True)
    [offer] = await offer_free_places(session.id, clock)
    assert offer.waitlist_entry_id == first.waitlist_entry_id

    erasure = await erase_resident(first.resident_id, now=clock.now())

    assert erasure.offers_declined == 1 and erasure.waitlist_entries_removed == 1
    statuses = {
        row["id"]: row["status"]
        for row in await WaitlistEntry.select(WaitlistEntry.id, WaitlistEntry.status).where(
            WaitlistEntry.id.is_in([first.waitlist_entry_id, second.waitlist_entry_id, waiting.waitlist_entry_id])
        )
    }
    assert statuses == {
        first.waitlist_entry_id: "declined",
        second.waitlist_entry_id: "offered",
        waiting.waitlist_entry_id: "removed",
    }
    closed = await WaitlistOffer.select(WaitlistOffer.status).where(WaitlistOffer.id == offer.offer_id).first()
    assert closed["status"] == "declined"
    held = await Session.select(Session.held).where(Session.id == session.id).first()
    assert held["held"] == 1  # now held for the next person in line
    assert any(e["offer_id"] == offer.offer_id for e in await events_of("waitlist.offer_declined"))


async def test_erasure_is_idempotent(db):
    session = await make_session()
    booked = await book_place(session.id, person(unique("twice")), 1)
    assert (await erase_resident(booked.resident_id)).erased
    events_before = await OutboxEvent.count()

    again = await erase_resident(booked.resident_id)

    assert not again.erased and again.cancelled_references == []
    assert await OutboxEvent.count() == events_before
    assert await resident_summary(booked.resident_id) is None
    assert await export_resident_data(booked.resident_id) is None


async def test_after_erasure_the_same_email_books_as_a_new_resident(db):
    who = person(unique("again"))
    session = await make_session()
    first = await book_place(session.id, who, 1)
    await erase_resident(first.resident_id)

    second = await book_place(session.id, who, 1)

    assert second.resident_id != first.resident_id
    assert (await resident_row(second.resident_id))["name"] == who.name
    assert (await resident_row(first.resident_id))["email"] is None


async def test_erasure_leaves_other_residents_alone(db):
    session = await make_session()
    mine = await book_place(session.id, person(unique("mine")), 1, support_note="Step-free please")
    theirs = await book_place(session.id, person(unique("theirs")), 1, support_note="Quiet corner")

    await erase_resident(mine.resident_id)

    kept = await Booking.select(Booking.status, Booking.support_note).where(Booking.id == theirs.booking_id).first()
    assert kept == {"status": "confirmed", "support_note": "Quiet corner"}
    assert (await resident_row(theirs.resident_id))["erased_at"] is None


# --- Export -------------------------------------------------------------------------------------


async def test_export_holds_everything_about_the_resident_and_no_secrets(db):
    who = person(unique("export"), phone="+447700900456", sms_opt_in=True)
    session = await make_session()
    booked = await book_place(session.id, who, 2, support_note="Bringing a guide dog")
    other = await book_place(session.id, person(unique("other")), 1)
    await request_sign_in_link(Contact(email=who.email), now=datetime.now(UTC))

    data = await export_resident_data(booked.resident_id)

    assert data["resident"]["email"] == who.email and data["resident"]["mobile"] == who.phone
    assert data["consent"]["texts_consent_given_at"] is not None
    [booking] = data["bookings"]
    assert booking["reference"] == booked.reference and booking["party_size"] == 2
    assert booking["support_note"] == "Bringing a guide dog" and booking["status"] == "confirmed"
    assert booking["activity"] == "Chair yoga" and booking["venue"].startswith("Test Library")
    assert len(data["sign_in_links"]) == 1 and data["sign_in_links"][0]["used_at"] is None
    text = json.dumps(data)
    assert other.reference not in text
    for secret in ("hash", "nonce", "token"):
        assert secret not in text


# --- Contact preferences ------------------------------------------------------------------------


async def test_texts_on_records_consent_and_off_withdraws_it(db):
    session = await make_session()
    booked = await book_place(session.id, person(unique("texts"), phone="+447700900789"), 1)
    now = datetime.now(UTC).replace(microsecond=0)

    on = await change_contact_preferences(booked.resident_id, PreferenceChoice(by_email=True, by_text=True), now=now)
    row = await resident_row(booked.resident_id)
    assert on.texts_started and row["contact_by_sms"] and row["sms_consent_at"] == now
    assert row["sms_opted_out_at"] is None

    later = now + timedelta(minutes=5)
    off = await change_contact_preferences(
        booked.resident_id, PreferenceChoice(by_email=True, by_text=False), now=later
    )
    row = await resident_row(booked.resident_id)
    assert off.texts_stopped and off.phone == "+447700900789"
    assert not row["contact_by_sms"] and row["sms_consent_at"] is None and row["sms_opted_out_at"] == later
    assert row["contact_by_email"] and row["email_opted_out_at"] is None


async def test_email_off_and_on_again(db):
    session = await make_session()
    booked = await book_place(session.id, person(unique("mail")), 1)
    now = datetime.now(UTC).replace(microsecond=0)

    off = await change_contact_preferences(booked.resident_id, PreferenceChoice(False, False), now=now)
    row = await resident_row(booked.resident_id)
    assert off.emails_stopped and not row["contact_by_email"] and row["email_opted_out_at"] == now

    on = await change_contact_preferences(booked.resident_id, PreferenceChoice(True, False), now=now)
    row = await resident_row(booked.resident_id)
    assert not on.emails_stopped and row["contact_by_email"] and row["email_opted_out_at"] is None


async def test_choices_need_an_address_on_record(db):
    session = await make_session()
    booked = await book_place(session.id, person(unique("nophone")), 1)
    summary = await resident_summary(booked.resident_id)

    choice, errors = read_preferences({"by_email": "yes", "by_text": "yes"}, summary)

    assert choice == PreferenceChoice(by_email=True, by_text=True)
    assert list(errors) == ["by_text"] and "mobile number" in errors["by_text"]
    assert read_preferences({"by_email": "yes"}, summary)[1] == {}
    assert read_preferences({}, summary) == (PreferenceChoice(False, False), {})


async def test_erasure_blanks_referral_notes_and_gives_held_places_back(db):
    who = person(unique("referred"))
    booked_on, held_on = await make_session(capacity=3), await make_session(capacity=3, starts_in=timedelta(days=10))
    worker = await make_link_worker()
    now = datetime.now(UTC)
    booked = await create_referral(worker, referral_request(booked_on.id, who, mode=ReferralMode.BOOK), now)
    held = await create_referral(worker, referral_request(held_on.id, who, party_size=2), now)
    assert (await Session.select(Session.held).where(Session.id == held_on.id).first())["held"] == 2

    await erase_resident(booked.resident_id)

    referrals = (
        await Referral.select(Referral.id, Referral.note_for_staff, Referral.status)
        .where(Referral.resident == booked.resident_id)
        .order_by(Referral.id)
    )
    assert [r["note_for_staff"] for r in referrals] == ["", ""]  # it said "Uses a wheelchair"
    assert {r["id"]: r["status"] for r in referrals}[held.referral_id] == ReferralStatus.CANCELLED.value
    assert (await Session.select(Session.held).where(Session.id == held_on.id).first())["held"] == 0
    assert any(e["session_id"] == held_on.id and e["places_left"] == 3 for e in await events_of("availability.changed"))
    with pytest.raises(ReferralNotOpen):
        await accept_referral(held.referral_id, datetime.now(UTC))
