"""Two processes of every worker kind on one database and one stream: the work is shared, nothing is done twice.

Also on SQLite, where the relays cannot lock rows and both publish every event: JetStream's
Nats-Msg-Id de-duplication must still leave one message per event.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from booking.clock import SystemClock
from booking.service import cancel_booking
from booking.tables import Session, WaitlistOffer
from booking.validation import ResidentDetails
from booking.waitlist import join_waitlist
from events.tables import OutboxEvent, ProcessedMessage
from notifications.states import Template
from tests.builders import make_waitlist_session
from tests.faults.support import (
    NOTIFICATIONS,
    ack_wait,
    book_many,
    confirmations_mailed,
    emails_of,
    message_ids,
    settled,
    stream_msg_ids,
)
from tests.support.services import wait_for_async

pytestmark = pytest.mark.faults

SESSIONS = 10
PLACES = 20  #: per session: 200 bookings fill them all
FREED = 2  #: bookings cancelled per session, with as many residents waiting for them
CAPACITY = "capacity"  #: the capacity workers' durable consumer
READY = {
    "relay": "relay: connected to NATS",
    NOTIFICATIONS: f"{NOTIFICATIONS}: consuming",
    CAPACITY: f"{CAPACITY}: consuming",
}


async def handled_by(workers, consumer: str) -> list[int]:
    """How many events each worker process recorded as handled (ProcessedMessage.handled_by is host:pid)."""
    rows = await ProcessedMessage.select(ProcessedMessage.handled_by).where(ProcessedMessage.consumer == consumer)
    return [sum(row["handled_by"].endswith(f":{w.process.pid}") for row in rows) for w in workers]


async def join_waiting_lists_then_cancel(sessions, made) -> set[str]:
    """Residents join each full session's waiting list, then as many bookings are cancelled; returns those."""
    by_session = defaultdict(list)
    for confirmation in made:
        by_session[confirmation.session_id].append(confirmation)
    await asyncio.gather(
        *(
            join_waitlist(
                s.id, ResidentDetails(f"Waiting {s.id}-{n}", f"waiting-{s.id}-{n}@example.org"), 1, SystemClock()
            )
            for s in sessions
            for n in range(FREED)
        )
    )
    cancelled = [c for confirmations in by_session.values() for c in confirmations[:FREED]]
    await asyncio.gather(*(cancel_booking(c.reference, manage_token=c.manage_token) for c in cancelled))
    return {c.reference for c in cancelled}


async def test_two_workers_of_each_kind_share_the_work_and_do_nothing_twice(stack, jetstream, commons_processes):
    workers = {kind: [commons_processes("worker", kind, env=stack.env()) for _ in range(2)] for kind in READY}
    for kind, ready in READY.items():
        for process in workers[kind]:
            await wait_for_async(
                lambda p=process, line=ready: line in p.log, timeout=20, message=f"{kind} {process.process.pid} ready"
            )
    sessions = [await make_waitlist_session(PLACES) for _ in range(SESSIONS)]
    made = []
    await book_many(sessions, SESSIONS * PLACES, made)
    cancelled = await join_waiting_lists_then_cancel(sessions, made)  # while the workers are busy with the bookings

    kept = {c.reference for c in made} - cancelled

    async def done() -> bool:
        offered = len(emails_of(stack.smtp.sink, Template.OFFER_MADE)) == SESSIONS * FREED
        mailed = offered and kept <= set(confirmations_mailed(stack.smtp.sink))
        return mailed and await settled(jetstream, NOTIFICATIONS, CAPACITY)

    await wait_for_async(done, timeout=await ack_wait(jetstream) + 60, interval=0.1, message="all work done")

    mailed = confirmations_mailed(stack.smtp.sink)
    assert {reference: mailed[reference] for reference in kept} == {reference: 1 for reference in kept}
    assert all(mailed[reference] <= 1 for reference in cancelled)  # cancelled before or after its confirmation
    assert max(message_ids(stack.smtp.sink).values()) == 1, "some e-mail was sent twice"
    offers = await WaitlistOffer.select(WaitlistOffer.entry)
    assert len(offers) == len({row["entry"] for row in offers}) == SESSIONS * FREED, "a freed place offered twice"
    places = await Session.select(Session.capacity, Session.booked, Session.held).where(
        Session.id.is_in([s.id for s in sessions])
    )
    assert [(p["capacity"] - p["booked"], p["held"]) for p in places] == [(FREED, FREED)] * SESSIONS
    outbox_ids = {row["event_id"] for row in await OutboxEvent.select(OutboxEvent.event_id)}
    assert await stream_msg_ids(jetstream) == {event_id: 1 for event_id in outbox_ids}
    assert all(await handled_by(workers[NOTIFICATIONS], NOTIFICATIONS)), "a notification worker did nothing"
    assert all(p.process.poll() is None for processes in workers.values() for p in processes), "a worker died"
