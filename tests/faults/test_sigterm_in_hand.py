"""SIGTERM while a notification worker has a message in hand: it finishes that message, acks it, exits 0.

The worker runs with the ``notifications.hold_before_ack`` failpoint (notifications/worker.py): it commits
the event's messages and its ProcessedMessage row, writes ``<release>.held`` and waits for ``<release>``
before the ack. The test sends SIGTERM while it waits, then releases it.
"""

from __future__ import annotations

import signal
import socket

import pytest

from booking.service import book_place
from booking.validation import ResidentDetails
from events.envelope import STREAM_NAME
from events.tables import ProcessedMessage
from notifications.tables import OutboundMessage
from tests.faults.support import (
    NOTIFICATIONS,
    UNFINISHED,
    confirmations_mailed,
    consumer_info,
    make_sessions,
    message_ids,
    publish_booking_confirmed,
    wait_for_exit,
)
from tests.support.services import wait_for_async

pytestmark = pytest.mark.faults

HOLD = "notifications.hold_before_ack"


async def processed_by(event_id: str) -> list[str]:
    rows = await ProcessedMessage.select(ProcessedMessage.handled_by).where(
        (ProcessedMessage.consumer == NOTIFICATIONS) & (ProcessedMessage.event_id == event_id)
    )
    return [row["handled_by"] for row in rows]


async def all_sent(*event_ids: str) -> bool:
    """Every event queued something, and none of it is still waiting to be sent."""
    rows = await OutboundMessage.select(OutboundMessage.event_id, OutboundMessage.status).where(
        OutboundMessage.event_id.is_in(list(event_ids))
    )
    return {row["event_id"] for row in rows} == set(event_ids) and all(row["status"] not in UNFINISHED for row in rows)


async def test_sigterm_finishes_the_message_in_hand_acks_it_once_and_exits_0(
    stack, jetstream, commons_processes, tmp_path
):
    [session] = await make_sessions(1, capacity=2)
    first = await book_place(session.id, ResidentDetails("Resident One", "sigterm-one@example.org"), 1)
    release = tmp_path / "release"
    held = tmp_path / "release.held"
    worker_1 = commons_processes(
        "worker", "notifications", env=stack.env(COMMONS_FAILPOINTS=HOLD, COMMONS_FAILPOINT_RELEASE=str(release))
    )
    event_id = await publish_booking_confirmed(jetstream, first.booking_id)

    await wait_for_async(held.exists, timeout=30, message=f"worker 1 to hold the event (is {HOLD} wired?)")
    assert held.read_text() == event_id
    # In hand: handled and committed, not yet acknowledged.
    assert await processed_by(event_id) == [f"{socket.gethostname()}:{worker_1.process.pid}"]
    assert (await consumer_info(jetstream)).num_ack_pending == 1

    worker_1.process.send_signal(signal.SIGTERM)
    await wait_for_async(lambda: "received SIGTERM" in worker_1.log, timeout=15, message="worker 1 to see SIGTERM")
    assert worker_1.process.poll() is None, f"worker 1 exited with the message in hand:\n{worker_1.log}"
    release.touch()
    assert await wait_for_exit(worker_1, timeout=30, message="worker 1 to exit after the release") == 0

    info = await consumer_info(jetstream)
    last = (await jetstream.stream_info(STREAM_NAME)).state.last_seq
    assert (info.ack_floor.stream_seq, info.num_ack_pending, info.num_pending) == (last, 0, 0)
    assert (info.delivered.consumer_seq, info.num_redelivered) == (1, 0)  # delivered once, acked once

    # Worker 2 takes over: a second booking's event proves it consumes, and the first never comes back.
    worker_2 = commons_processes("worker", "notifications", env=stack.env())
    second = await book_place(session.id, ResidentDetails("Resident Two", "sigterm-two@example.org"), 1)
    second_event = await publish_booking_confirmed(jetstream, second.booking_id)
    await wait_for_async(lambda: processed_by(second_event), timeout=30, message="worker 2 to handle event 2")
    await wait_for_async(lambda: all_sent(event_id, second_event), timeout=30, message="both confirmations to be sent")
    await wait_for_async(lambda: _acked_through(jetstream, 2), timeout=30, message="worker 2 to acknowledge event 2")

    info = await consumer_info(jetstream)
    assert (info.delivered.consumer_seq, info.num_redelivered) == (2, 0)  # event 1 was never delivered again
    assert len(await processed_by(event_id)) == 1
    assert event_id not in worker_2.log
    assert confirmations_mailed(stack.smtp.sink) == {first.reference: 1, second.reference: 1}
    assert max(message_ids(stack.smtp.sink).values()) == 1


async def _acked_through(jetstream, stream_seq: int) -> bool:
    info = await consumer_info(jetstream)
    return info.ack_floor.stream_seq >= stream_seq and info.num_ack_pending == 0
