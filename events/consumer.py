"""One pull-consumer loop for every worker kind: fetch, acknowledge, retry with back-off, dead-letter.

The handler owns its transaction and what it records as processed; this loop owns only the message:
ack when the handler is done, nak with a growing delay when it asks to retry (or raises), and on the
last allowed delivery, or for a message that is not an event, a dead letter plus ``term`` so the
messages behind it keep flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from events.dead_letters import record_dead_letter
from events.envelope import STREAM_NAME, MalformedEvent, decode
from events.stream import close as close_nats
from events.stream import connect, ensure_stream

log = logging.getLogger(__name__)

FETCH_BATCH = 10
FETCH_TIMEOUT = 1.0  #: also how quickly the loop notices ``stop``

#: A database hiccup while handling one event: hand the message back and carry on with the next.
DATABASE_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error)


class Outcome(enum.Enum):
    DONE = "done"  #: handled now or before: acknowledge
    RETRY = "retry"  #: a temporary failure: negative-acknowledge with a delay


Handler = Callable[[dict[str, Any]], Awaitable[Outcome]]


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer: one per worker kind, shared by every instance of that worker."""

    durable: str
    #: What the durable receives; several subjects use JetStream's ``filter_subjects`` (nats-server 2.10+).
    subjects: tuple[str, ...] = ("commons.>",)
    ack_wait: float = 30.0
    max_deliver: int = 10
    retry_base: float = 5.0  #: first retry delay; doubles per delivery
    retry_max: float = 300.0

    def config(self) -> ConsumerConfig:
        return with_subjects(
            ConsumerConfig(
                durable_name=self.durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait,
                max_deliver=self.max_deliver,
            ),
            self.subjects,
        )

    def retry_delay(self, num_delivered: int) -> float:
        return min(self.retry_base * 2 ** max(num_delivered - 1, 0), self.retry_max)


def with_subjects(config: ConsumerConfig, subjects: tuple[str, ...]) -> ConsumerConfig:
    """``config`` filtered to ``subjects``: one goes in ``filter_subject``, several in ``filter_subjects``."""
    if len(subjects) == 1:
        return config.evolve(filter_subject=subjects[0], filter_subjects=None)
    return config.evolve(filter_subject=None, filter_subjects=list(subjects))


def filtered_subjects(config: ConsumerConfig) -> tuple[str, ...]:
    """The subjects a consumer's ``config`` receives, however it was filtered."""
    return tuple(config.filter_subjects or ([config.filter_subject] if config.filter_subject else [">"]))


async def bind_durable(js: JetStreamContext, spec: ConsumerSpec) -> JetStreamContext.PullSubscription:
    """Subscribe to ``spec``'s durable, creating it, or widening an existing one to the spec's subjects.

    An existing durable keeps every other setting (its position above all); only its filter follows the
    code, so a release that gives a worker a new subject to act on needs no manual step.
    """
    try:
        info = await js.consumer_info(STREAM_NAME, spec.durable)
    except nats.js.errors.NotFoundError:
        await js.add_consumer(STREAM_NAME, spec.config())
    else:
        if set(filtered_subjects(info.config)) != set(spec.subjects):
            log.info("%s: now filtering %s (was %s)", spec.durable, spec.subjects, filtered_subjects(info.config))
            await js.add_consumer(STREAM_NAME, with_subjects(info.config, spec.subjects))
    return await js.pull_subscribe_bind(durable=spec.durable, stream=STREAM_NAME)


async def handle_message(msg: Msg, handler: Handler, spec: ConsumerSpec, *, max_deliver: int | None = None) -> Outcome | None:
    """Decode, handle and settle one message. Returns None when it went to the dead letters."""
    max_deliver = spec.max_deliver if max_deliver is None else max_deliver
    deliveries = msg.metadata.num_delivered
    try:
        event = decode(msg.data)
    except MalformedEvent as exc:
        log.error("%s: dead-lettering malformed message on %s: %s", spec.durable, msg.subject, exc)
        await _dead_letter(msg, spec, None, f"malformed: {exc}", deliveries)
        return None
    error = "the handler asked for a retry on every delivery"
    try:
        outcome = await handler(event)
    except DATABASE_ERRORS as exc:
        log.warning("%s: database error on event %s (%s); will retry", spec.durable, event["id"], exc)
        outcome, error = Outcome.RETRY, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug or a poison message: retried, then dead-lettered, never blocking
        log.exception("%s: handler failed on event %s (delivery %d)", spec.durable, event["id"], deliveries)
        outcome, error = Outcome.RETRY, f"{type(exc).__name__}: {exc}"
    if outcome is Outcome.DONE:
        await msg.ack()
        return outcome
    if 0 < max_deliver <= deliveries:
        log.error("%s: giving up on event %s after %d deliveries: %s", spec.durable, event["id"], deliveries, error)
        await _dead_letter(msg, spec, event["id"], error, deliveries)
        return None
    await msg.nak(delay=spec.retry_delay(deliveries))
    return outcome


async def _dead_letter(msg: Msg, spec: ConsumerSpec, event_id: str | None, error: str, deliveries: int) -> None:
    try:
        await record_dead_letter(
            consumer=spec.durable,
            event_id=event_id if isinstance(event_id, str) else None,
            subject=msg.subject,
            payload=msg.data.decode("utf-8", errors="replace"),
            error=error,
            deliveries=deliveries,
        )
    except DATABASE_ERRORS as exc:
        # Terminate only once the dead letter is stored; until then JetStream may redeliver it.
        log.error("%s: could not store dead letter for %s (%s)", spec.durable, msg.subject, exc)
        await msg.nak(delay=spec.retry_delay(deliveries))
        return
    await msg.term()


async def run_consumer(js: JetStreamContext, spec: ConsumerSpec, handler: Handler, stop: asyncio.Event) -> None:
    """Pull and handle messages until ``stop`` is set, finishing the message in hand."""
    sub = await bind_durable(js, spec)
    acknowledged = 0
    try:
        # An existing durable keeps its own settings; dead-letter by what the server will actually do.
        max_deliver = (await sub.consumer_info()).config.max_deliver or spec.max_deliver
        log.info("%s: consuming %s", spec.durable, STREAM_NAME)
        while not stop.is_set():
            try:
                messages = await sub.fetch(FETCH_BATCH, timeout=FETCH_TIMEOUT)
            except asyncio.TimeoutError:  # nats.py raises both its own and asyncio's on an empty fetch
                continue
            except nats.errors.Error as exc:
                log.warning("%s: fetch failed (%s); retrying", spec.durable, exc)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                continue
            for msg in messages:
                if stop.is_set():
                    await msg.nak()  # not started: hand it straight back for another instance
                elif await handle_message(msg, handler, spec, max_deliver=max_deliver) is Outcome.DONE:
                    acknowledged += 1
    finally:
        log.info("%s: acknowledged %d messages in this process", spec.durable, acknowledged)
        # Every fetched message was settled above; draining a pull subscription would only wait on
        # nats.py's internal queue (about 15 s), so unsubscribe and let the caller drain the connection.
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()


async def consume(nats_url: str, spec: ConsumerSpec, handler: Handler, stop: asyncio.Event) -> None:
    """Connect (failing loudly if NATS is unreachable), consume until ``stop``, then drain."""
    nc = await connect(nats_url, name=spec.durable)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await run_consumer(js, spec, handler, stop)
    finally:
        await close_nats(nc)
    log.info("%s: stopped", spec.durable)
