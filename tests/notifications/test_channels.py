"""Who is e-mailed and who is texted: only as residents agreed, and texts only with a provider."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from booking.service import book_place
from booking.validation import ResidentDetails
from events.tables import ProcessedMessage
from notifications.preferences import stop_emails, stop_texts
from notifications.recipients import Recipient
from notifications.states import Channel
from tests.builders import make_session
from tests.events.support import unique_email
from tests.notifications.support import notifier_for, outbox_event, queued, texting, unique_phone

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def someone(**changes) -> Recipient:
    fields = {
        "resident_id": 1, "name": "Ada", "email": "ada@example.org", "phone": "+447700900123",
        "contact_by_email": True, "contact_by_sms": True, "sms_consent_at": NOW,
        "sms_opted_out_at": None, "email_opted_out_at": None,
    }
    return Recipient(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "sms_available", "expected"),
    [
        ({}, True, [Channel.EMAIL, Channel.SMS]),
        ({}, False, [Channel.EMAIL]),  # no provider configured
        ({"sms_consent_at": None}, True, [Channel.EMAIL]),  # never agreed to texts
        ({"sms_opted_out_at": NOW}, True, [Channel.EMAIL]),  # replied STOP
        ({"contact_by_sms": False}, True, [Channel.EMAIL]),
        ({"phone": None}, True, [Channel.EMAIL]),
        ({"email_opted_out_at": NOW}, True, [Channel.SMS]),  # used an unsubscribe link
        ({"contact_by_email": False}, True, [Channel.SMS]),
        ({"email": None, "phone": None}, True, []),
    ],
)
def test_channels_follow_what_the_resident_agreed(changes, sms_available, expected):
    assert someone(**changes).channels(sms_available=sms_available) == expected


async def confirmation_rows(db, data_dir, details: ResidentDetails, **settings) -> dict[str, dict]:
    session = await make_session()
    confirmation = await book_place(session.id, details, 1)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    await notifier_for(db, data_dir, **settings).handle_event(event)
    assert await ProcessedMessage.count().where(ProcessedMessage.event_id == event["id"]) == 1
    return await queued(event["id"])


async def test_a_phone_number_without_consent_gets_no_text(db, data_dir):
    details = ResidentDetails(name="No Texts", email=unique_email(), phone=unique_phone(), sms_opt_in=False)

    assert set(await confirmation_rows(db, data_dir, details)) == {"email"}


async def test_no_texts_in_production_without_a_provider(db, data_dir):
    production = {
        "COMMONS_ENV": "production", "COMMONS_SECRET_KEY": "s" * 40, "COMMONS_SMTP_URL": "smtp://127.0.0.1:25",
    }

    assert set(await confirmation_rows(db, data_dir, texting(), **production)) == {"email"}


async def test_after_replying_stop_only_email(db, data_dir):
    details = texting()
    session = await make_session()
    await book_place(session.id, details, 1)
    assert await stop_texts(details.phone, NOW) == 1

    again = replace(details, sms_opt_in=False)  # the next booking, without ticking "text me" again
    assert set(await confirmation_rows(db, data_dir, again)) == {"email"}


async def test_after_unsubscribing_only_texts(db, data_dir):
    details = texting()
    session = await make_session()
    first = await book_place(session.id, details, 1)
    assert await stop_emails(first.resident_id, NOW)

    assert set(await confirmation_rows(db, data_dir, details)) == {"sms"}


async def test_no_channel_left_queues_nothing_but_still_marks_the_event_handled(db, data_dir):
    details = ResidentDetails(name="Emails Only", email=unique_email())
    session = await make_session()
    first = await book_place(session.id, details, 1)
    await stop_emails(first.resident_id, NOW)

    assert await confirmation_rows(db, data_dir, details) == {}
