"""The outbox relay: publishes committed outbox rows to JetStream, at least once, deduplicated by event id.

Bookings never wait for NATS. The relay takes unpublished rows in id order, publishes each with
``Nats-Msg-Id`` = the event id, and marks a row published only after JetStream acknowledged it.
On PostgreSQL the batch is locked with ``FOR UPDATE SKIP LOCKED`` so several relays can run, and
``LISTEN commons_outbox`` wakes the relay as soon as a booking commits; polling is the fallback.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from datetime import datetime, timezone

import asyncpg
import nats.errors
from nats.js import JetStreamContext

from commons.db import is_sqlite, write_transaction
from commons.settings import Settings
from events.outbox import NOTIFY_CHANNEL
from events.replay import prune_published, retention_period
from events.stream import NatsUnavailable, connect, ensure_stream
from events.stream import close as close_nats
from events.tables import OutboxEvent

log = logging.getLogger(__name__)

BATCH_SIZE = 100
PUBLISH_TIMEOUT = 2.0  #: seconds to wait for a PubAck
SQLITE_POLL_INTERVAL = 0.2  #: SQLite has no LISTEN/NOTIFY
POSTGRES_POLL_INTERVAL = 5.0  #: fallback in case a NOTIFY was missed
MAX_BACKOFF = 5.0
PRUNE_INTERVAL = 3600.0  #: how often the relay deletes published rows past the retention period

#: Failures the relay outlives: it logs them, backs off and tries again.
TRANSIENT_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error)


class PublishFailed(RuntimeError):
    """JetStream did not acknowledge an outbox event; the row stays unpublished for the next attempt."""


_SELECT_BATCH = (
    "SELECT id, event_id, subject, payload FROM outbox_event "
    "WHERE published_at IS NULL ORDER BY id LIMIT {}"
)


async def publish_pending(js: JetStreamContext, limit: int = BATCH_SIZE) -> int:
    """Publish one batch of unpublished outbox rows; returns how many JetStream acknowledged.

    Raises ``PublishFailed`` (after recording the attempt on the row) if a publish was not acknowledged.
    """
    engine = OutboxEvent._meta.db
    if is_sqlite(engine):
        # One relay per SQLite database; the write lock is taken only to mark rows, never while publishing.
        rows = await OutboxEvent.raw(_SELECT_BATCH, limit)
        published, failure = await _publish_rows(js, rows)
    else:
        async with engine.transaction():
            rows = await OutboxEvent.raw(_SELECT_BATCH + " FOR UPDATE SKIP LOCKED", limit)
            published, failure = await _publish_rows(js, rows)
    if failure is not None:
        raise PublishFailed(failure)
    return published


async def _publish_rows(js: JetStreamContext, rows: list[dict]) -> tuple[int, str | None]:
    acked: list[int] = []
    failure: str | None = None
    failed_id: int | None = None
    for row in rows:
        try:
            await js.publish(
                row["subject"],
                row["payload"].encode(),
                timeout=PUBLISH_TIMEOUT,
                headers={"Nats-Msg-Id": row["event_id"]},
            )
        except (nats.errors.Error, asyncio.TimeoutError, OSError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
            failed_id = row["id"]
            break
        acked.append(row["id"])
    async with write_transaction(OutboxEvent._meta.db):
        if acked:
            await OutboxEvent.update({OutboxEvent.published_at: datetime.now(timezone.utc)}).where(
                OutboxEvent.id.is_in(acked)
            )
        if failed_id is not None:
            await OutboxEvent.update(
                {OutboxEvent.attempts: OutboxEvent.attempts + 1, OutboxEvent.last_error: failure[:2000]}
            ).where(OutboxEvent.id == failed_id)
    return len(acked), failure


class _Wakeup:
    """Set when the outbox may have new rows: a PostgreSQL NOTIFY, or nothing at all on SQLite."""

    def __init__(self, settings: Settings) -> None:
        self.event = asyncio.Event()
        self._dsn = settings.database_url if settings.is_postgres else None
        self._conn: asyncpg.Connection | None = None

    @property
    def poll_interval(self) -> float:
        return POSTGRES_POLL_INTERVAL if self._dsn else SQLITE_POLL_INTERVAL

    async def listen(self) -> None:
        """(Re)open the LISTEN connection if it is gone; the fallback poll covers the gap."""
        if self._dsn is None or (self._conn is not None and not self._conn.is_closed()):
            return
        try:
            self._conn = await asyncpg.connect(self._dsn, timeout=5)
            await self._conn.add_listener(NOTIFY_CHANNEL, lambda *_: self.event.set())
        except TRANSIENT_ERRORS as exc:
            log.warning("relay: cannot LISTEN %s (%s); polling every %gs", NOTIFY_CHANNEL, exc, self.poll_interval)
            self._conn = None

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()


async def _sleep_until(stop: asyncio.Event, wake: asyncio.Event | None, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _connect_until_ready(settings: Settings, stop: asyncio.Event):
    """Connect to NATS and ensure the stream, retrying with exponential back-off until ``stop``."""
    delay = 0.2
    while not stop.is_set():
        nc = None
        try:
            nc = await connect(settings.nats_url, name="relay")
            js = nc.jetstream()
            await ensure_stream(js)
            log.info("relay: connected to NATS at %s", settings.nats_url)
            return nc, js
        except (NatsUnavailable, nats.errors.Error, asyncio.TimeoutError, OSError) as exc:
            log.warning("relay: NATS not ready (%s); retrying in %.1fs", exc, delay)
            if nc is not None:
                await close_nats(nc)
        await _sleep_until(stop, None, delay)
        delay = min(delay * 2, MAX_BACKOFF)
    return None, None


async def run_relay(settings: Settings, stop: asyncio.Event) -> None:
    """Publish the outbox until ``stop`` is set. Uses the engine the outbox table is bound to."""
    if settings.nats_url is None:
        raise ValueError("run_relay needs settings.nats_url")
    await OutboxEvent.count()  # fail loudly at start-up if the database is unreachable or not migrated
    retention_period()  # and if COMMONS_OUTBOX_RETENTION_DAYS is not a number of days
    wakeup = _Wakeup(settings)
    await wakeup.listen()
    nc, js = await _connect_until_ready(settings, stop)
    backoff = 0.2
    next_prune = time.monotonic()
    try:
        while not stop.is_set():
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_INTERVAL
                await _prune()
            wakeup.event.clear()  # before the query, so a NOTIFY during the batch is not lost
            try:
                published = await publish_pending(js)
            except PublishFailed as exc:
                log.warning("relay: publish failed (%s); retrying in %.1fs", exc, backoff)
                await _sleep_until(stop, None, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                await _recreate_stream_if_missing(js)
                continue
            except TRANSIENT_ERRORS as exc:
                log.warning("relay: database error (%s); retrying in %.1fs", exc, backoff)
                await _sleep_until(stop, None, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 0.2
            if published:
                log.info("relay: published %d event(s)", published)
            if published < BATCH_SIZE:
                await wakeup.listen()
                await _sleep_until(stop, wakeup.event, wakeup.poll_interval)
    finally:
        await wakeup.close()
        if nc is not None:
            await close_nats(nc)
    log.info("relay: stopped")


async def _prune() -> None:
    """Keep the outbox to its retention period (``COMMONS_OUTBOX_RETENTION_DAYS``); never fatal."""
    try:
        deleted = await prune_published()
    except TRANSIENT_ERRORS as exc:
        log.warning("relay: pruning the outbox failed (%s); will try again later", exc)
        return
    if deleted:
        log.info("relay: pruned %d published outbox event(s) past the retention period", deleted)


async def _recreate_stream_if_missing(js: JetStreamContext) -> None:
    """A nats-server started on an empty store has no stream: recreate it so publishing can resume."""
    try:
        await ensure_stream(js)
    except (nats.errors.Error, asyncio.TimeoutError, OSError) as exc:
        log.debug("relay: stream check failed: %s", exc)
