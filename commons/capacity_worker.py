"""The capacity worker: offers freed places to the waiting list, and closes offers that have run out.

It consumes ``availability.changed`` on the durable consumer ``capacity``. When the session, re-read
now, has places free and people waiting, it calls ``offer_free_places`` and records the event in
``processed_message`` inside that same transaction, so a redelivery or a replay only acknowledges.
Beside the consumer, a sweep calls ``expire_offers`` every ``sweep_interval`` seconds; its
``UPDATE … RETURNING`` claims each expired offer for one transaction, so any number of instances can
sweep at once. Fetching, acknowledging, retries and dead letters are ``events/consumer.py``'s job.

It also keeps the OpenActive feeds current: every ``availability.changed`` and every ``session.scheduled``,
``session.changed`` and ``session.cancelled`` refreshes that session's feed items (a redelivery moves
nothing, as the items already say the same), and each sweep brings every item up to date, which covers
catalogue edits (an activity's title, a venue's address) that publish no session event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from booking.clock import Clock, SystemClock
from booking.openactive import refresh_feeds, refresh_session
from booking.referrals import expire_referrals
from booking.tables import WaitlistOffer
from booking.waitlist import expire_offers, offer_free_places, places_free_for_waiting_list
from commons.db import UNIQUE_VIOLATION_ERRORS
from commons.settings import Settings
from events.catalogue import parse
from events.consumer import DATABASE_ERRORS, ConsumerSpec, Outcome, run_consumer
from events.stream import close as close_nats
from events.stream import connect, ensure_stream
from events.tables import ProcessedMessage

log = logging.getLogger(__name__)

CONSUMER = "capacity"
#: Places changed: offer them on. Declines and expiries offer the places in their own transaction.
FILTER_SUBJECT = "commons.availability.changed"
#: A session scheduled, moved or cancelled: its OpenActive items change at once, not at the next sweep.
SESSION_SUBJECT = "commons.session.>"
SWEEP_INTERVAL = 30.0  #: seconds between sweeps for expired offers

SESSION_EVENTS = frozenset({"session.scheduled", "session.changed", "session.cancelled"})

SPEC = ConsumerSpec(durable=CONSUMER, subjects=(FILTER_SUBJECT, SESSION_SUBJECT))


def instance_name() -> str:
    """Which worker process handled an event (``host:pid``), to see work shared between instances."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


@dataclass(frozen=True)
class CapacityHandler:
    clock: Clock
    consumer: str = CONSUMER
    instance: str = field(default_factory=instance_name)
    base_url: str = ""  #: absolute URLs in the OpenActive feeds

    async def handle_event(self, event: dict) -> Outcome:
        if event["type"] in SESSION_EVENTS:
            await refresh_session(parse(event).session_id, self.base_url)
            return Outcome.DONE
        if event["type"] != "availability.changed":
            return Outcome.DONE  # not ours to act on
        outcome = await self._offer_free_places(event)
        # The OpenActive feed shows places left; a redelivery moves nothing when they have not changed.
        await refresh_session(parse(event).session_id, self.base_url)
        return outcome

    async def _offer_free_places(self, event: dict) -> Outcome:
        session_id = parse(event).session_id
        if await ProcessedMessage.exists().where(
            (ProcessedMessage.consumer == self.consumer) & (ProcessedMessage.event_id == event["id"])
        ):
            return Outcome.DONE
        if not await places_free_for_waiting_list(session_id):
            # Nothing to offer. Checking again on a redelivery is harmless, so nothing is recorded.
            return Outcome.DONE

        async def record() -> None:
            await ProcessedMessage.insert(
                ProcessedMessage(
                    consumer=self.consumer,
                    event_id=event["id"],
                    processed_at=datetime.now(timezone.utc),
                    handled_by=self.instance,
                )
            )

        try:
            made = await offer_free_places(session_id, self.clock, in_transaction=record)
        except UNIQUE_VIOLATION_ERRORS as exc:
            if "processed_message" not in str(exc):
                raise
            log.info("%s: event %s was already processed by another instance", self.consumer, event["id"])
            return Outcome.DONE
        if made:
            log.info(
                "%s: session %d: %d offer(s) or booking(s) from the waiting list", self.consumer, session_id, len(made)
            )
        return Outcome.DONE


async def sweep_expired_offers(clock: Clock, finished: asyncio.Event, interval: float, base_url: str = "") -> None:
    """Expire offers past their time and offer their places on, now and every ``interval`` seconds.

    Each sweep also brings the OpenActive feeds up to date (new, moved, cancelled and finished sessions).
    A failed sweep is logged and tried again next time: one bad offer must not stop the consumer.
    """
    while not finished.is_set():
        try:
            result = await expire_offers(clock)
            # Referral holds past their time give their places back (``availability.changed`` then
            # brings the consumer above to offer them to the waiting list) and record ``referral.expired``.
            expired_referrals = await expire_referrals(clock.now())
            await refresh_feeds(base_url)
        except DATABASE_ERRORS as exc:
            log.warning("capacity: the offer sweep hit a database error (%s); trying again in %gs", exc, interval)
        except Exception:
            log.exception("capacity: the offer sweep failed; trying again in %gs", interval)
        else:
            if result.expired_offer_ids:
                log.info(
                    "capacity: expired %d offer(s); %d made to the next in line",
                    len(result.expired_offer_ids),
                    len(result.next_in_line),
                )
            if expired_referrals:
                log.info("capacity: %d referral hold(s) ran out", len(expired_referrals))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(finished.wait(), timeout=interval)


async def check_database() -> None:
    """Fail at start-up, not on the first message, when the database is unreachable or not migrated."""
    await WaitlistOffer.count()
    await ProcessedMessage.count()


async def run_capacity_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Clock = SystemClock(),
    sweep_interval: float = SWEEP_INTERVAL,
    durable: str = CONSUMER,
) -> None:
    """Consume and sweep until ``stop`` is set; finishes the message and the sweep in hand, then drains."""
    if settings.nats_url is None:
        raise ValueError("run_capacity_worker needs settings.nats_url")
    await check_database()
    handler = CapacityHandler(clock, consumer=durable, base_url=settings.base_url)
    nc = await connect(settings.nats_url, name=durable)  # raises NatsUnavailable: fail loudly at start-up
    finished = asyncio.Event()
    sweeper: asyncio.Task | None = None
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        sweeper = asyncio.create_task(
            sweep_expired_offers(clock, finished, sweep_interval, settings.base_url), name=f"{durable}-sweep"
        )
        spec = replace(SPEC, durable=durable, ack_wait=float(settings.ack_wait_seconds))
        await run_consumer(js, spec, handler.handle_event, stop)
    finally:
        finished.set()
        if sweeper is not None:
            await sweeper
        await close_nats(nc)
    log.info("%s: stopped", durable)
