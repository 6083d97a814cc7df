"""A resident who deleted their data hears nothing more: their unsent messages are withdrawn and wiped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from booking.clock import FixedClock
from booking.service import book_place
from booking.validation import ResidentDetails
from commons.db import write_transaction
from events.outbox import record_event
from events.tables import ProcessedMessage
from notifications.tables import OutboundMessage
from tests.builders import make_session
from tests.events.support import unique_email
from tests.notifications.support import notifier_for, outbox_event, queued

pytestmark = pytest.mark.usefixtures("empty_queue")


async def test_erasure_withdraws_unsent_messages_with_the_processed_row(db, data_dir):
    now = datetime.now(UTC)
    mine = ResidentDetails(name="Erase Me", email=unique_email())
    theirs = ResidentDetails(name="Keep Me", email=unique_email())
    session = await make_session()
    booking = await book_place(session.id, mine, 1)
    other = await book_place(session.id, theirs, 1)
    notifier = notifier_for(db, data_dir, clock=FixedClock(now))
    for confirmation in (booking, other):
        await notifier.handle_event(await outbox_event("booking.confirmed", booking_id=confirmation.booking_id))
    async with write_transaction(OutboundMessage._meta.db):
        await record_event("resident.erased", {"resident_id": booking.resident_id})
    event = await outbox_event("resident.erased", resident_id=booking.resident_id)

    await notifier.handle_event(event)
    await notifier.handle_event(event)  # redelivered: nothing more happens

    [withdrawn] = await OutboundMessage.select().where(OutboundMessage.resident_id == booking.resident_id)
    assert withdrawn["status"] == "cancelled"
    assert withdrawn["recipient"] == "" and withdrawn["text_body"] == "" and withdrawn["html_body"] == ""
    [kept] = await OutboundMessage.select().where(OutboundMessage.resident_id == other.resident_id)
    assert kept["status"] == "pending" and kept["recipient"] == theirs.email
    assert await ProcessedMessage.count().where(ProcessedMessage.event_id == event["id"]) == 1
    assert await queued(event["id"]) == {}
