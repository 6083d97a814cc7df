"""Referral events become the right messages, with working links, respecting the resident's channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.manage_links import find_booking_by_signed_token
from booking.referrals import accept_referral, cancel_referral, create_referral, expire_referrals, referral_for_link
from booking.states import ReferralMode
from booking.tables import Resident
from booking.validation import ResidentDetails
from tests.builders import make_session, unique
from tests.notifications.support import BASE_URL, notifier_for, outbox_event, texting
from tests.notifications.test_handlers import handled, link_after
from tests.referral_support import make_link_worker, make_partner, referral_request


async def test_a_hold_sends_the_confirm_link_by_email_and_text(db, data_dir):
    session = await make_session(starts_in=timedelta(days=10))
    worker = await make_link_worker(await make_partner("Cannock Link Workers"))
    made = await create_referral(
        worker, referral_request(session.id, texting("Ada Lovelace"), days=3), datetime.now(UTC)
    )
    notifier = notifier_for(db, data_dir)

    rows = await handled(notifier, await outbox_event("referral.created", referral_id=made.referral_id))

    email, sms = rows["email"], rows["sms"]
    assert email["template"] == "referral_created"
    assert "A place is held for you" in email["subject"]
    for body in (email["text_body"], email["html_body"], sms["text_body"]):
        assert "Cannock Link Workers" in body and "Chair yoga" in body
        token = link_after(f"{BASE_URL}/referrals/", body)
        assert await referral_for_link(notifier.settings.secret_key, token) == made.referral_id


async def test_booking_straight_away_says_booked_with_the_manage_link(db, data_dir):
    session = await make_session()
    made = await create_referral(
        await make_link_worker(), referral_request(session.id, unique("r"), mode=ReferralMode.BOOK), datetime.now(UTC)
    )
    notifier = notifier_for(db, data_dir)

    rows = await handled(notifier, await outbox_event("referral.created", referral_id=made.referral_id))

    email = rows["email"]
    assert "sms" not in rows  # no mobile number, so no text
    assert "You have been booked" in email["subject"] and made.booking.reference in email["subject"]
    assert f"{BASE_URL}/referrals/" not in email["text_body"]
    token = link_after(f"{BASE_URL}/bookings/manage/", email["text_body"])
    booking = await find_booking_by_signed_token(notifier.settings.secret_key, token)
    assert booking is not None and booking.id == made.booking.booking_id


async def test_a_resident_who_stopped_emails_gets_none(db, data_dir):
    session = await make_session()
    details = ResidentDetails(name="No Mail", email=f"{unique('nomail')}@example.org")
    made = await create_referral(await make_link_worker(), referral_request(session.id, details), datetime.now(UTC))
    await Resident.update({Resident.email_opted_out_at: datetime.now(UTC)}).where(Resident.id == made.resident_id)

    rows = await handled(
        notifier_for(db, data_dir), await outbox_event("referral.created", referral_id=made.referral_id)
    )

    assert rows == {}


async def test_confirming_sends_the_booking_details(db, data_dir):
    session = await make_session()
    now = datetime.now(UTC)
    made = await create_referral(await make_link_worker(), referral_request(session.id, texting()), now)
    confirmation = await accept_referral(made.referral_id, now)
    notifier = notifier_for(db, data_dir)

    rows = await handled(notifier, await outbox_event("referral.accepted", referral_id=made.referral_id))

    assert rows["email"]["template"] == "referral_accepted"
    for body in (rows["email"]["text_body"], rows["sms"]["text_body"]):
        assert confirmation.reference in body
    # The hold message, handled late, says nothing: the place is no longer waiting for confirmation.
    assert await handled(notifier, await outbox_event("referral.created", referral_id=made.referral_id)) == {}


async def test_a_hold_that_ran_out_says_so(db, data_dir):
    session = await make_session(starts_in=timedelta(days=10))
    now = datetime.now(UTC)
    made = await create_referral(await make_link_worker(), referral_request(session.id, texting(), days=1), now)
    await expire_referrals(now + timedelta(days=1))
    notifier = notifier_for(db, data_dir)

    rows = await handled(notifier, await outbox_event("referral.expired", referral_id=made.referral_id))

    assert "Your held place has gone" in rows["email"]["subject"]
    assert f"{BASE_URL}/sessions/{session.id}" in rows["sms"]["text_body"]
    assert await handled(notifier, await outbox_event("referral.created", referral_id=made.referral_id)) == {}


async def test_a_cancelled_hold_sends_one_message_with_the_reason(db, data_dir):
    session = await make_session(starts_in=timedelta(days=10))
    worker = await make_link_worker(await make_partner("Rugeley Link Workers"))
    now = datetime.now(UTC)
    made = await create_referral(worker, referral_request(session.id, texting(), days=3), now)
    await cancel_referral(worker, made.referral_id, "You told us you are away that week", now)
    notifier = notifier_for(db, data_dir)

    rows = await handled(notifier, await outbox_event("referral.cancelled", referral_id=made.referral_id))

    assert set(rows) == {"email", "sms"}
    assert rows["email"]["template"] == rows["sms"]["template"] == "referral_cancelled"
    assert "Your held place is cancelled" in rows["email"]["subject"]
    for body in (rows["email"]["text_body"], rows["email"]["html_body"]):
        assert "Rugeley Link Workers" in body and "You told us you are away that week" in body
    assert f"{BASE_URL}/sessions/{session.id}" in rows["sms"]["text_body"]
    # The hold message, handled late, says nothing: the place is no longer held.
    assert await handled(notifier, await outbox_event("referral.created", referral_id=made.referral_id)) == {}


async def test_a_cancelled_booked_referral_is_told_once_by_the_booking_cancellation(db, data_dir):
    session = await make_session()
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_referral(worker, referral_request(session.id, texting(), mode=ReferralMode.BOOK), now)
    await cancel_referral(worker, made.referral_id, "", now)
    notifier = notifier_for(db, data_dir)

    referral_rows = await handled(notifier, await outbox_event("referral.cancelled", referral_id=made.referral_id))
    booking_rows = await handled(notifier, await outbox_event("booking.cancelled", booking_id=made.booking.booking_id))

    assert referral_rows == {}
    assert set(booking_rows) == {"email", "sms"}
    assert booking_rows["email"]["template"] == "booking_cancelled"
    assert made.booking.reference in booking_rows["sms"]["text_body"]
