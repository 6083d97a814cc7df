"""The dev outbox writes texts where /dev/mailbox shows them, on both databases."""

from __future__ import annotations

import uuid

from notifications.sms import DevOutboxSms, provider_from_url
from notifications.tables import DevMessage


async def test_a_text_becomes_an_sms_row_in_the_dev_mailbox(db):
    to = f"+4477009{uuid.uuid4().int % 100000:05d}"

    result = await DevOutboxSms().send(to, "Your place is booked.\nReply STOP to stop texts.", reference="evt:sms")

    [row] = await DevMessage.select().where(DevMessage.message_id == result.provider_message_id)
    assert row["channel"] == "sms"
    assert row["recipient"] == to
    assert row["text_body"] == "Your place is booked.\nReply STOP to stop texts."
    assert row["subject"] == "Your place is booked. Reply STOP to stop texts."
    assert row["html_body"] == ""


async def test_a_long_text_is_previewed_in_the_subject(db):
    result = await DevOutboxSms().send("+447700900123", "x" * 200, reference="r")

    [row] = await DevMessage.select(DevMessage.subject).where(DevMessage.message_id == result.provider_message_id)
    assert row["subject"] == "x" * 59 + "…"


def test_dev_provider_shares_the_delivery_transaction():
    assert provider_from_url("dev://").transactional is True
