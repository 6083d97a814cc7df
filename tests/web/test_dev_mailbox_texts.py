"""Texts sent through the development SMS backend appear on /dev/mailbox beside the e-mails."""

from __future__ import annotations

from datetime import UTC, datetime

from booking.clock import FixedClock
from booking.service import book_place
from notifications.handlers import Notifier
from notifications.tables import DevMessage
from notifications.worker import sender_for
from tests.builders import make_session
from tests.notifications.support import outbox_event, queued, texting
from tests.web.conftest import browser, web_settings

NOON = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)  # midday in London: the text is not held for quiet hours


async def test_a_text_from_the_dev_backend_is_listed_and_shown_beside_the_email(db, data_dir):
    settings = web_settings(db, data_dir)
    assert settings.effective_sms_url == "dev://" and settings.dev_mailbox_enabled
    details = texting("Grace Hopper")
    confirmation = await book_place((await make_session()).id, details, 1)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    clock = FixedClock(NOON)
    await Notifier(settings, clock=clock).handle_event(event)
    sender = sender_for(settings)  # the dev mailbox and the dev SMS outbox, as `commons serve` wires them
    sender.clock = clock
    while await sender.send_due() == sender.batch_size:
        pass
    text = (await queued(event["id"]))["sms"]
    assert text["status"] == "sent"
    [row] = await DevMessage.select(DevMessage.id).where(DevMessage.message_id == text["provider_message_id"])

    async with browser(settings) as client:
        inbox = await client.get("/dev/mailbox")
        shown = await client.get(f"/dev/mailbox/{row['id']}")

    assert inbox.status_code == 200
    assert details.email in inbox.text and details.phone in inbox.text
    assert f'href="/dev/mailbox/{row["id"]}"' in inbox.text
    assert shown.status_code == 200
    assert f"<dd>{details.phone}</dd>" in shown.text and "<dd>sms</dd>" in shown.text
    assert "Commons: 1 place booked on" in shown.text and f"Ref {confirmation.reference}." in shown.text
