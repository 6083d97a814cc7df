"""The notification worker: a durable JetStream consumer that e-mails residents about their bookings.

Each event is handled at most once per consumer: the worker re-reads the booking by id, sends, and
records the Delivery and the ProcessedMessage in one transaction. A redelivered event finds its
ProcessedMessage and is only acknowledged. With the dev mailbox the message row shares that
transaction too, so development delivery is exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

import asyncpg
import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig

from booking.manage_links import signed_token_for_booking
from booking.queries import get_booking
from booking.states import BookingStatus
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction
from commons.settings import Settings
from events.envelope import STREAM_NAME, MalformedEvent, decode
from events.stream import close as close_nats
from events.stream import connect, ensure_stream
from events.tables import ProcessedMessage
from notifications.email import Email, render_booking_confirmed
from notifications.mailer import MailError, Mailer, mailer_for
from notifications.tables import Delivery

log = logging.getLogger(__name__)

CONSUMER = "notifications"
FILTER_SUBJECT = "commons.>"
ACK_WAIT = 30.0
MAX_DELIVER = 10
FETCH_BATCH = 10
FETCH_TIMEOUT = 1.0  #: also how quickly the worker notices ``stop``
MAX_RETRY_DELAY = 300.0

#: A database hiccup while handling one event: hand the message back and carry on with the next.
DATABASE_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error)


class DeliveryStatus(str, enum.Enum):
    SENT = "sent"
    FAILED = "failed"


class Outcome(enum.Enum):
    DONE = "done"  #: handled now or before: acknowledge
    RETRY = "retry"  #: a temporary failure: negative-acknowledge with a delay


@dataclass(frozen=True)
class Notifier:
    """What handling an event needs: settings for links, a mailer, and the consumer name to record."""

    settings: Settings
    mailer: Mailer
    consumer: str = CONSUMER

    async def handle_event(self, event: dict) -> Outcome:
        handler = _HANDLERS.get(event["type"])
        if handler is None:
            return Outcome.DONE  # not ours to act on
        if await ProcessedMessage.exists().where(
            (ProcessedMessage.consumer == self.consumer) & (ProcessedMessage.event_id == event["id"])
        ):
            return Outcome.DONE
        return await handler(self, event)

    async def booking_confirmed(self, event: dict) -> Outcome:
        booking = await get_booking(int(event["data"]["booking_id"]))
        if booking is None or booking.status != BookingStatus.CONFIRMED.value or not booking.resident_email:
            await self._record(event["id"])  # cancelled before we got here, or nobody to e-mail
            return Outcome.DONE
        token = await signed_token_for_booking(self.settings.secret_key, booking.id)
        # No token means the booking's links were revoked: point at the site rather than at a dead link.
        manage_url = f"{self.settings.base_url}/bookings/manage/{token}" if token else f"{self.settings.base_url}/"
        message = render_booking_confirmed(booking, manage_url=manage_url, event_id=event["id"])
        delivery = Delivery(
            event_id=event["id"],
            channel="email",
            template=message.template,
            recipient=message.to,
            booking_reference=booking.reference,
            status=DeliveryStatus.SENT.value,
            message_id=message.message_id,
            attempted_at=datetime.now(timezone.utc),
        )
        if not self.mailer.transactional:
            try:
                await self.mailer.deliver(message)
            except MailError as exc:
                log.warning("notifications: e-mail for %s failed: %s", booking.reference, exc)
                delivery.status, delivery.error = DeliveryStatus.FAILED.value, str(exc)[:2000]
                async with write_transaction(Delivery._meta.db):
                    await Delivery.insert(delivery)
                return Outcome.RETRY
        await self._record(event["id"], delivery=delivery, message=message if self.mailer.transactional else None)
        log.info("notifications: sent booking_confirmed for %s", booking.reference)
        return Outcome.DONE

    async def _record(self, event_id: str, *, delivery: Delivery | None = None, message: Email | None = None) -> None:
        """Mark the event processed (with its delivery); losing a race to another instance is fine."""
        try:
            async with write_transaction(ProcessedMessage._meta.db):
                if message is not None:
                    await self.mailer.deliver(message)
                if delivery is not None:
                    await Delivery.insert(delivery)
                await ProcessedMessage.insert(
                    ProcessedMessage(consumer=self.consumer, event_id=event_id, processed_at=datetime.now(timezone.utc))
                )
        except UNIQUE_VIOLATION_ERRORS:
            log.info("notifications: event %s was already processed by another instance", event_id)


_HANDLERS = {"booking.confirmed": Notifier.booking_confirmed}


def retry_delay(num_delivered: int) -> float:
    return min(5.0 * 2 ** max(num_delivered - 1, 0), MAX_RETRY_DELAY)


async def handle_message(msg: Msg, notifier: Notifier) -> Outcome | None:
    """Decode, handle and acknowledge one JetStream message. Returns None for a malformed one."""
    try:
        event = decode(msg.data)
    except MalformedEvent as exc:
        log.error("notifications: dropping malformed message on %s: %s", msg.subject, exc)
        await msg.term()
        return None
    try:
        outcome = await notifier.handle_event(event)
    except DATABASE_ERRORS as exc:
        log.warning("notifications: database error on event %s (%s); will retry", event["id"], exc)
        outcome = Outcome.RETRY
    if outcome is Outcome.RETRY:
        await msg.nak(delay=retry_delay(msg.metadata.num_delivered))
    else:
        await msg.ack()
    return outcome


def consumer_config(durable: str) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT,
        max_deliver=MAX_DELIVER,
        filter_subject=FILTER_SUBJECT,
    )


async def check_database() -> None:
    """Fail at start-up, not on the first message, when the database is unreachable or not migrated."""
    await ProcessedMessage.count()


async def run_notifications_worker(settings: Settings, stop: asyncio.Event, *, durable: str = CONSUMER) -> None:
    """Consume events until ``stop`` is set; finishes the message in hand, then drains the connection."""
    if settings.nats_url is None:
        raise ValueError("run_notifications_worker needs settings.nats_url")
    await check_database()
    nc = await connect(settings.nats_url, name="notifications")
    sub = None
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        sub = await js.pull_subscribe(FILTER_SUBJECT, durable=durable, stream=STREAM_NAME, config=consumer_config(durable))
        notifier = Notifier(settings, mailer_for(settings.smtp_url, settings.mail_from), consumer=durable)
        log.info("notifications: consuming %s as %s", STREAM_NAME, durable)
        while not stop.is_set():
            try:
                messages = await sub.fetch(FETCH_BATCH, timeout=FETCH_TIMEOUT)
            except asyncio.TimeoutError:  # nats.py raises both its own and asyncio's on an empty fetch
                continue
            except nats.errors.Error as exc:
                log.warning("notifications: fetch failed (%s); retrying", exc)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    pass
                continue
            for msg in messages:
                if stop.is_set():
                    await msg.nak()  # not started: hand it straight back for another instance
                else:
                    await handle_message(msg, notifier)
    finally:
        if sub is not None:
            # Every fetched message was acked or nakked above; draining a pull subscription would only
            # wait on nats.py's internal queue, so unsubscribe and then drain the connection.
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
        await close_nats(nc)
    log.info("notifications: stopped")
