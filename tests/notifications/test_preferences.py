"""Unsubscribe links and STOP replies: the resident's choice is recorded and waiting messages dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from booking.service import book_place
from booking.tables import Resident
from booking.validation import ResidentDetails
from commons.settings import DEV_SECRET_KEY
from notifications.preferences import stop_emails, stop_texts
from notifications.unsubscribe import unsubscribe_token, verify_unsubscribe_token
from tests.builders import make_session
from tests.notifications.support import notifier_for, outbox_event, queued, texting, unique_phone

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_an_unsubscribe_token_names_its_resident_and_cannot_be_forged():
    token = unsubscribe_token(DEV_SECRET_KEY, 42)

    assert token.startswith("42.")
    assert verify_unsubscribe_token(DEV_SECRET_KEY, token) == 42
    assert verify_unsubscribe_token("another-secret-key", token) is None
    assert verify_unsubscribe_token(DEV_SECRET_KEY, "43." + token.split(".", 1)[1]) is None
    for malformed in ("", "42", "42.", ".abc", "x.abc", "²." + token.split(".", 1)[1], "042." + token[3:]):
        assert verify_unsubscribe_token(DEV_SECRET_KEY, malformed) is None, malformed


async def booked_and_queued(db, data_dir, details: ResidentDetails):
    """A booking whose confirmation is queued (not yet sent); returns (confirmation, rows by channel)."""
    session = await make_session()
    confirmation = await book_place(session.id, details, 1)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    await notifier_for(db, data_dir).handle_event(event)
    return confirmation, event["id"]


async def contact(resident_id: int) -> dict:
    return await Resident.select(
        Resident.contact_by_email, Resident.email_opted_out_at, Resident.contact_by_sms,
        Resident.sms_consent_at, Resident.sms_opted_out_at,
    ).where(Resident.id == resident_id).first()


async def test_stopping_emails_records_it_and_cancels_waiting_emails_only(db, data_dir):
    confirmation, event_id = await booked_and_queued(db, data_dir, texting())

    assert await stop_emails(confirmation.resident_id, NOW) is True

    resident = await contact(confirmation.resident_id)
    assert resident["contact_by_email"] is False and resident["email_opted_out_at"] == NOW
    assert resident["contact_by_sms"] is True  # texts are a separate choice
    rows = await queued(event_id)
    assert (rows["email"]["status"], rows["sms"]["status"]) == ("cancelled", "pending")


async def test_stopping_emails_for_nobody_says_so(db):
    assert await stop_emails(2_000_000_000, NOW) is False


async def test_stop_ends_texts_for_everyone_with_the_number_and_cancels_waiting_texts(db, data_dir):
    phone = unique_phone()
    first, first_event = await booked_and_queued(db, data_dir, texting("Parent", phone=phone))
    second, second_event = await booked_and_queued(db, data_dir, texting("Teenager", phone=phone))
    other, other_event = await booked_and_queued(db, data_dir, texting("Neighbour"))

    assert await stop_texts(phone, NOW) == 2

    for confirmation in (first, second):
        resident = await contact(confirmation.resident_id)
        assert resident["contact_by_sms"] is False
        assert resident["sms_consent_at"] is None and resident["sms_opted_out_at"] == NOW
        assert resident["contact_by_email"] is True
    for event_id in (first_event, second_event):
        rows = await queued(event_id)
        assert rows["email"]["status"] == "pending"
        assert rows["sms"]["status"] == "cancelled"
    assert (await queued(other_event))["sms"]["status"] == "pending"
    assert (await contact(other.resident_id))["contact_by_sms"] is True


async def test_stop_from_an_unknown_number_changes_nothing(db):
    assert await stop_texts(unique_phone(), NOW) == 0
