"""The notification worker: a durable JetStream consumer that e-mails residents about their bookings.

Each event is handled at most once per consumer: the worker re-reads the booking by id, sends, and
records the Delivery and the ProcessedMessage in one transaction. A redelivered event finds its
ProcessedMessage and is only acknowledged. With the dev mailbox the message row shares that
transaction too, so development delivery is exactly once. Fetching, acknowledging, retries and dead
letters are the shared loop's job (``events/consumer.py``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from nats.aio.msg import Msg

from booking.manage_links import signed_token_for_booking
from booking.queries import get_booking
from booking.states import BookingStatus
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction
from commons.settings import Settings
from events.consumer import DATABASE_ERRORS, ConsumerSpec, Outcome, consume
from events.consumer import handle_message as handle_consumer_message
from events.tables import ProcessedMessage
from notifications.email import Email, render_booking_confirmed
from notifications.mailer import Mailer, MailError, mailer_for
from notifications.tables import Delivery

log = logging.getLogger(__name__)

CONSUMER = "notifications"
FILTER_SUBJECT = "commons.>"
ACK_WAIT = 30.0
MAX_DELIVER = 10

__all__ = ["DATABASE_ERRORS", "Notifier", "Outcome", "handle_message", "run_notifications_worker"]


class DeliveryStatus(str, enum.Enum):
    SENT = "sent"
    FAILED = "failed"


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


SPEC = ConsumerSpec(durable=CONSUMER, filter_subject=FILTER_SUBJECT, ack_wait=ACK_WAIT, max_deliver=MAX_DELIVER)


async def handle_message(msg: Msg, notifier: Notifier) -> Outcome | None:
    """Decode, handle and settle one JetStream message. Returns None when it was dead-lettered."""
    return await handle_consumer_message(msg, notifier.handle_event, replace(SPEC, durable=notifier.consumer))


async def check_database() -> None:
    """Fail at start-up, not on the first message, when the database is unreachable or not migrated."""
    await ProcessedMessage.count()


async def run_notifications_worker(settings: Settings, stop: asyncio.Event, *, durable: str = CONSUMER) -> None:
    """Consume events until ``stop`` is set; finishes the message in hand, then drains the connection."""
    if settings.nats_url is None:
        raise ValueError("run_notifications_worker needs settings.nats_url")
    await check_database()
    notifier = Notifier(settings, mailer_for(settings.smtp_url, settings.mail_from), consumer=durable)
    await consume(settings.nats_url, replace(SPEC, durable=durable), notifier.handle_event, stop)
