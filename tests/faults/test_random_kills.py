"""Relay, notification and capacity workers SIGKILLed at random points of a rush and its waiting lists.

One real process of each kind; at each of several random moments (chosen by how far the work has got)
a random one is SIGKILLed and started again. Afterwards the outbox, the stream and what each consumer
processed agree one to one, nobody is overbooked, each freed place is offered once, and every booking
kept is e-mailed; the only e-mail that may arrive twice is the one a killed sender had handed to the
SMTP server and not yet recorded (docs/decisions.md), at most one per kill of the notification worker.

The seed is random each run and is in every failure message; set COMMONS_FAULTS_SEED to replay one.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter

import pytest

from booking.tables import Session, WaitlistOffer
from events.tables import OutboxEvent, ProcessedMessage
from notifications.plans import PLANNERS
from notifications.states import DeliveryStatus, MessageStatus, Template
from notifications.tables import Delivery, OutboundMessage
from tests.builders import make_waitlist_session
from tests.faults.support import (
    NOTIFICATIONS,
    QUICK_LEASE,
    QUICK_REDELIVERY,
    ack_wait,
    book_many,
    confirmations_mailed,
    emails_of,
    message_ids,
    settled,
    stream_msg_ids,
)
from tests.faults.test_many_workers import CAPACITY, FREED, READY, join_waiting_lists_then_cancel
from tests.support.services import wait_for_async

pytestmark = pytest.mark.faults

SESSIONS = 6
PLACES = 10  #: per session: the bookings fill them all, so residents wait for the freed places
BOOKINGS = SESSIONS * PLACES
KILLS = 6


def seed_for_this_run() -> int:
    return int(os.environ.get("COMMONS_FAULTS_SEED") or random.SystemRandom().randrange(2**32))


async def processed(consumer: str = NOTIFICATIONS) -> int:
    return await ProcessedMessage.count().where(ProcessedMessage.consumer == consumer)


class Workers:
    """One worker of each kind; ``kill_and_restart`` SIGKILLs one and starts its successor."""

    def __init__(self, start, env: dict[str, str]) -> None:
        self.start, self.env = start, env
        self.running = {kind: start("worker", kind, env=env) for kind in READY}
        self.kills: Counter[str] = Counter()

    async def ready(self, kind: str) -> None:
        process = self.running[kind]
        await wait_for_async(lambda: READY[kind] in process.log, timeout=20, message=f"{kind} {process.process.pid}")

    async def kill_and_restart(self, kind: str) -> None:
        victim = self.running[kind]
        victim.process.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(victim.process.wait, 10) == -signal.SIGKILL, f"{kind} was not killed"
        self.kills[kind] += 1
        self.running[kind] = self.start("worker", kind, env=self.env)
        await self.ready(kind)

    def all_alive(self) -> bool:
        return all(p.process.poll() is None for p in self.running.values())


async def kill_at_random_points(workers: Workers, rng: random.Random) -> list[tuple[int, str]]:
    """Kill a random worker each time the notification consumer has processed a random number more events.

    It processes at least every ``booking.confirmed``, every ``booking.cancelled`` and every
    ``waitlist.offered`` (offers come last, after the capacity worker made them), so each moment is sure
    to come, and the later ones fall in the waiting-list part of the run."""
    moments = sorted(rng.sample(range(2, BOOKINGS + 2 * SESSIONS * FREED), KILLS))
    done = []
    for moment in moments:
        await wait_for_async(lambda m=moment: processed_at_least(m), timeout=60, message=f"{moment} processed")
        kind = rng.choice(sorted(READY))
        await workers.kill_and_restart(kind)
        done.append((moment, kind))
    return done


async def processed_at_least(count: int) -> bool:
    return await processed() >= count


async def test_workers_killed_at_random_lose_nothing_and_repeat_only_what_the_design_allows(
    stack, jetstream, commons_processes
):
    seed = seed_for_this_run()
    try:
        await run_with_random_kills(stack, jetstream, commons_processes, random.Random(seed))
    except (AssertionError, TimeoutError) as failure:
        raise AssertionError(f"random kills with COMMONS_FAULTS_SEED={seed}: {failure}") from failure


async def run_with_random_kills(stack, jetstream, commons_processes, rng: random.Random) -> None:
    # One worker of each kind, so one sender: a short lease is safe, and what a killed worker left
    # unacknowledged or claimed comes back in seconds.
    workers = Workers(commons_processes, stack.env(**QUICK_REDELIVERY, **QUICK_LEASE))
    for kind in READY:
        await workers.ready(kind)
    sessions = [await make_waitlist_session(PLACES) for _ in range(SESSIONS)]
    killing = asyncio.create_task(kill_at_random_points(workers, rng))
    made = []
    await book_many(sessions, BOOKINGS, made)
    cancelled = await join_waiting_lists_then_cancel(sessions, made)  # while workers are being killed
    kept = {c.reference for c in made} - cancelled
    kills = await killing

    async def done() -> bool:
        offered = len({m["Message-ID"] for m in emails_of(stack.smtp.sink, Template.OFFER_MADE)}) == SESSIONS * FREED
        mailed = offered and kept <= set(confirmations_mailed(stack.smtp.sink))
        return mailed and await settled(jetstream, NOTIFICATIONS, CAPACITY)

    await wait_for_async(done, timeout=await ack_wait(jetstream) + 60, interval=0.1, message=f"all done ({kills})")

    assert workers.all_alive(), "a restarted worker died"
    # Places: nobody overbooked, each freed place held by exactly one offer.
    offers = await WaitlistOffer.select(WaitlistOffer.entry)
    assert len(offers) == len({row["entry"] for row in offers}) == SESSIONS * FREED, "a freed place offered twice"
    places = await Session.select(Session.capacity, Session.booked, Session.held)
    assert [(p["capacity"] - p["booked"], p["held"]) for p in places] == [(FREED, FREED)] * SESSIONS
    # Events: one stream message per outbox row; each consumer processed each of its events once.
    outbox = await OutboxEvent.select(OutboxEvent.event_id, OutboxEvent.type)
    assert await stream_msg_ids(jetstream) == {row["event_id"]: 1 for row in outbox}
    notified = await ProcessedMessage.select(ProcessedMessage.event_id).where(
        ProcessedMessage.consumer == NOTIFICATIONS
    )
    assert sorted(r["event_id"] for r in notified) == sorted(r["event_id"] for r in outbox if r["type"] in PLANNERS)
    offered_for = await ProcessedMessage.select(ProcessedMessage.event_id).where(ProcessedMessage.consumer == CAPACITY)
    availability = {r["event_id"] for r in outbox if r["type"] == "availability.changed"}
    assert {r["event_id"] for r in offered_for} <= availability and len(offered_for) >= SESSIONS
    # E-mail: every message queued once and recorded sent once; a copy only where a kill fell between
    # the SMTP server's acceptance and the record, with the same Message-ID.
    mailed = confirmations_mailed(stack.smtp.sink)
    assert kept <= set(mailed), "a kept booking got no confirmation"
    sent_rows = await OutboundMessage.count().where(OutboundMessage.status == MessageStatus.SENT.value)
    sends = await Delivery.count().where(Delivery.status == DeliveryStatus.SENT.value)
    copies = message_ids(stack.smtp.sink)
    assert sent_rows == sends == len(copies), "a message recorded sent twice, or sent under two Message-IDs"
    repeated = {message_id: count for message_id, count in copies.items() if count > 1}
    assert set(repeated.values()) <= {2}, f"an e-mail arrived three times or more: {repeated}"
    assert len(repeated) <= workers.kills[NOTIFICATIONS], f"{repeated} repeated, {workers.kills} kills"
    print(f"killed (after n events processed, worker): {kills}; e-mails repeated: {len(repeated)}")
