"""A notification worker SIGKILLed at its two dangerous moments, and what residents receive afterwards.

Worker 1 runs with a failpoint (``COMMONS_FAILPOINTS``) and kills itself there; worker 2, without one,
picks up what it left. Both are the real ``commons worker notifications`` process.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime

import pytest

from events.tables import OutboxEvent, ProcessedMessage
from notifications.states import DeliveryStatus, MessageStatus
from notifications.tables import Delivery, OutboundMessage
from tests.faults.support import (
    NOTIFICATIONS,
    QUICK_LEASE,
    QUICK_REDELIVERY,
    ack_wait,
    book_many,
    confirmations_mailed,
    consumer_info,
    make_sessions,
    message_ids,
    settled,
    wait_for_exit,
)
from tests.support.services import wait_for_async

pytestmark = pytest.mark.faults

BOOKINGS = 3
MAX_LEASE = 30.0  #: longer than this and the test would idle; the sender must honour COMMONS_SEND_LEASE_SECONDS


async def confirmed_event_ids() -> set[str]:
    rows = await OutboxEvent.select(OutboxEvent.event_id).where(OutboxEvent.type == "booking.confirmed")
    return {row["event_id"] for row in rows}


async def redelivered(jetstream) -> bool:
    """JetStream delivered some message more than once (consumer sequence ahead of stream sequence)."""
    info = await consumer_info(jetstream)
    return info.delivered.consumer_seq > info.delivered.stream_seq


def worker_env(stack, **extra: str) -> dict[str, str]:
    """Both workers: what worker 1 leaves unacknowledged or half-sent comes back in seconds."""
    return stack.env(**QUICK_REDELIVERY, **QUICK_LEASE, **extra)


async def crash_at(failpoint: str, stack, commons_processes) -> list:
    """Relay plus worker 1 with ``failpoint``; book; return the bookings once worker 1 has SIGKILLed itself."""
    commons_processes("worker", "relay", env=stack.env())
    first = commons_processes("worker", "notifications", env=worker_env(stack, COMMONS_FAILPOINTS=failpoint))
    made = []
    await book_many(await make_sessions(1, capacity=BOOKINGS), BOOKINGS, made)
    code = await wait_for_exit(first, timeout=20, message=f"worker 1 to die at {failpoint} (is it in notifications/?)")
    assert code == -signal.SIGKILL, f"worker 1 exited {code}, not by SIGKILL at {failpoint}:\n{first.log}"
    return made


async def test_a_worker_killed_before_acknowledging_an_event_sends_nothing_twice(stack, jetstream, commons_processes):
    """Worker 1 commits an event's messages and ProcessedMessage, then dies before the JetStream ack
    (``notifications.before_ack``). After ack_wait the event is redelivered to worker 2, which finds it
    processed and only acknowledges it; the queued messages are sent once."""
    made = await crash_at("notifications.before_ack", stack, commons_processes)
    confirmed = await confirmed_event_ids()
    queued_by_worker_1 = await OutboundMessage.count().where(OutboundMessage.event_id.is_in(list(confirmed)))
    assert queued_by_worker_1, "worker 1 died before queuing any confirmation: the crash missed its moment"
    assert (await consumer_info(jetstream)).num_ack_pending >= 1

    commons_processes("worker", "notifications", env=worker_env(stack))

    async def redelivered_and_settled() -> bool:
        mailed = len(confirmations_mailed(stack.smtp.sink)) == BOOKINGS
        return mailed and await redelivered(jetstream) and await settled(jetstream)

    # Worker 1's unacknowledged messages come back only after ack_wait.
    await wait_for_async(redelivered_and_settled, timeout=await ack_wait(jetstream) + 30, message="the redelivery")
    assert confirmations_mailed(stack.smtp.sink) == {c.reference: 1 for c in made}
    assert max(message_ids(stack.smtp.sink).values()) == 1
    queued = await OutboundMessage.select(OutboundMessage.event_id).where(
        OutboundMessage.event_id.is_in(list(confirmed))
    )
    assert sorted(row["event_id"] for row in queued) == sorted(confirmed), "an event was queued twice or not at all"
    processed = await ProcessedMessage.select(ProcessedMessage.event_id).where(
        (ProcessedMessage.consumer == NOTIFICATIONS) & ProcessedMessage.event_id.is_in(list(confirmed))
    )
    assert sorted(row["event_id"] for row in processed) == sorted(confirmed)


async def test_a_worker_killed_after_sending_resends_that_message_once_after_its_lease(
    stack, jetstream, commons_processes
):
    """The at-least-once window, by design: worker 1 dies after the SMTP server accepted a message and
    before recording the result (``notifications.after_send``). Nothing can tell that from a send that
    never happened, so once the sender's lease on the row runs out worker 2 sends it again. That message
    arrives twice, both copies with one Message-ID for the receiver to de-duplicate, and the Delivery log
    records the send; every other message arrives exactly once."""
    made = await crash_at("notifications.after_send", stack, commons_processes)
    accepted = set(confirmations_mailed(stack.smtp.sink))
    assert accepted, "worker 1 died before the SMTP server accepted anything: the crash missed its window"
    held = await OutboundMessage.select(OutboundMessage.booking_reference, OutboundMessage.claimed_until).where(
        OutboundMessage.status == MessageStatus.SENDING.value
    )
    assert accepted <= {row["booking_reference"] for row in held}, "the send was recorded before the crash"
    lease_left = (max(row["claimed_until"] for row in held) - datetime.now(UTC)).total_seconds()
    assert lease_left < MAX_LEASE, f"the send lease is {lease_left:.0f}s: COMMONS_SEND_LEASE_SECONDS is not honoured"

    commons_processes("worker", "notifications", env=worker_env(stack))

    async def resent_and_settled() -> bool:
        mailed = confirmations_mailed(stack.smtp.sink)
        return all(mailed[r] == 2 for r in accepted) and len(mailed) == BOOKINGS and await settled(jetstream)

    await wait_for_async(resent_and_settled, timeout=lease_left + await ack_wait(jetstream) + 30, message="resends")
    assert confirmations_mailed(stack.smtp.sink) == {c.reference: 2 if c.reference in accepted else 1 for c in made}
    assert sorted(message_ids(stack.smtp.sink).values()) == sorted(2 if c.reference in accepted else 1 for c in made)
    queued = await OutboundMessage.select(OutboundMessage.id, OutboundMessage.status).where(
        OutboundMessage.booking_reference.is_in([c.reference for c in made])
    )
    assert [row["status"] for row in queued] == [MessageStatus.SENT.value] * BOOKINGS
    sends = await Delivery.select(Delivery.outbound_message).where(Delivery.status == DeliveryStatus.SENT.value)
    assert sorted(row["outbound_message"] for row in sends) == sorted(row["id"] for row in queued)
