"""nats-server SIGKILLed in the middle of 500 bookings, then restarted: every booking gets exactly one e-mail."""

from __future__ import annotations

import asyncio

import pytest

from events.tables import OutboxEvent
from notifications.states import DeliveryStatus, Template
from notifications.tables import Delivery
from tests.faults.support import (
    QUICK_REDELIVERY,
    ack_wait,
    book_many,
    confirmations_mailed,
    consumer_info,
    make_sessions,
    message_ids,
    settled,
    stream_msg_ids,
)
from tests.support.services import wait_for_async

pytestmark = pytest.mark.faults

BOOKINGS = 500
KILL_AFTER = BOOKINGS // 3
BOOKED_WHILE_DOWN = 50  #: restart only once at least this many bookings were made without NATS


async def failed_publish_recorded() -> bool:
    return await OutboxEvent.count().where(OutboxEvent.attempts > 0) > 0


async def test_every_booking_gets_one_confirmation_when_nats_is_killed_mid_run(stack, jetstream, commons_processes):
    """Bookings go on while NATS is down (they only write the outbox); the relay retries, publishes what
    it missed with the same Nats-Msg-Ids, and JetStream, restarted on its old store, keeps one of each."""
    env = stack.env(**QUICK_REDELIVERY)  # deliveries lost with the server come back after ack_wait
    relay = commons_processes("worker", "relay", env=env)
    worker = commons_processes("worker", "notifications", env=env)
    sessions = await make_sessions(25, capacity=BOOKINGS // 25)
    made = []
    booking = asyncio.create_task(book_many(sessions, BOOKINGS, made))

    await wait_for_async(lambda: len(made) >= KILL_AFTER or booking.done(), timeout=60, message="a third booked")
    stack.nats.kill()
    booked_at_kill = len(made)
    assert booked_at_kill < BOOKINGS, "every booking was made before the kill: nothing to test"
    await wait_for_async(
        lambda: booking.done() or len(made) >= booked_at_kill + BOOKED_WHILE_DOWN,
        timeout=60,
        message=f"{BOOKED_WHILE_DOWN} bookings with NATS down",
    )
    await wait_for_async(failed_publish_recorded, timeout=30, message="the relay to record a failed publish")
    assert stack.nats.process.poll() is not None
    booked_while_down = len(made) - booked_at_kill
    unpublished_at_restart = await OutboxEvent.count().where(OutboxEvent.published_at.is_null())
    stack.nats.start()
    await booking  # raises if any booking failed, with NATS down or up

    assert booked_while_down >= min(BOOKED_WHILE_DOWN, BOOKINGS - booked_at_kill)
    assert unpublished_at_restart > 0, "the relay lost nothing to the outage: the test did not bite"
    assert len({c.reference for c in made}) == BOOKINGS
    await wait_for_async(
        lambda: len(stack.smtp.sink.messages) >= BOOKINGS, timeout=90, interval=0.1, message="500 confirmations"
    )
    # No duplicate can arrive once nothing is left to publish, deliver, redeliver or send.
    await wait_for_async(
        lambda: settled(jetstream), timeout=await ack_wait(jetstream) + 30, interval=0.1, message="everything idle"
    )

    assert confirmations_mailed(stack.smtp.sink) == {c.reference: 1 for c in made}
    assert len(stack.smtp.sink.messages) == BOOKINGS
    assert all(count == 1 for count in message_ids(stack.smtp.sink).values())
    outbox_ids = {row["event_id"] for row in await OutboxEvent.select(OutboxEvent.event_id)}
    assert await stream_msg_ids(jetstream) == {event_id: 1 for event_id in outbox_ids}
    info = await consumer_info(jetstream)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)
    sent = await Delivery.count().where(
        (Delivery.status == DeliveryStatus.SENT.value) & (Delivery.template == Template.BOOKING_CONFIRMED.value)
    )
    assert sent == BOOKINGS
    assert relay.process.poll() is None and worker.process.poll() is None, "a worker did not outlive the outage"
