"""The notification worker: a durable JetStream consumer that queues messages, and a sender that sends them.

All three parts run in one process. The consumer (``handlers.Notifier``) turns each event into rows
of the ``outbound_message`` queue and wakes the sender (``sender.Sender``), which claims due rows,
sends them and records every attempt. The reminder scheduler (``reminders``) records ``reminder.due``
events from the database, which come back through the consumer like any other event. Fetching, acknowledging, retries and dead letters are the shared
loop's job (``events/consumer.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

from commons import failpoints
from commons.settings import Settings
from events.consumer import ConsumerSpec, Handler, Outcome, consume
from events.tables import ProcessedMessage
from notifications.handlers import CONSUMER, Notifier
from notifications.mailer import mailer_for
from notifications.plans import PLANNERS
from notifications.reminders import run_reminder_scheduler
from notifications.sender import Sender
from notifications.sms import provider_from_url
from notifications.tables import OutboundMessage

FILTER_SUBJECT = "commons.>"
ACK_WAIT = 30.0
MAX_DELIVER = 10

__all__ = ["CONSUMER", "FILTER_SUBJECT", "SPEC", "Notifier", "Sender", "run_notifications_worker", "sender_for"]

SPEC = ConsumerSpec(durable=CONSUMER, subjects=(FILTER_SUBJECT,), ack_wait=ACK_WAIT, max_deliver=MAX_DELIVER)

#: A failpoint for tests (commons/failpoints.py ``hold``): each event the worker has a plan for is held
#: after its messages are committed and before its ack, the message in hand, until the test releases it.
#: tests/faults/test_sigterm_in_hand.py signals the worker meanwhile.
HOLD_BEFORE_ACK = "notifications.hold_before_ack"


def _held_before_ack(handler: Handler) -> Handler:
    """``handler``, paused before the ack while the ``HOLD_BEFORE_ACK`` failpoint is set (never in production)."""
    if not failpoints.active(HOLD_BEFORE_ACK):
        return handler

    async def handle(event: dict[str, Any]) -> Outcome:
        outcome = await handler(event)
        if event["type"] in PLANNERS:
            await failpoints.hold(HOLD_BEFORE_ACK, event["id"])
        return outcome

    return handle


def sender_for(settings: Settings) -> Sender:
    """A sender for the configured SMTP server (or dev mailbox) and SMS provider (or none)."""
    sms_url = settings.effective_sms_url
    return Sender(
        mailer_for(settings.smtp_url, settings.mail_from),
        provider_from_url(sms_url) if sms_url else None,
        lease=timedelta(seconds=settings.send_lease_seconds),
    )


async def check_database() -> None:
    """Fail at start-up, not on the first message, when the database is unreachable or not migrated."""
    await ProcessedMessage.count()
    await OutboundMessage.count()


async def run_notifications_worker(settings: Settings, stop: asyncio.Event, *, durable: str = CONSUMER) -> None:
    """Consume, send and schedule reminders until ``stop`` is set; each part finishes what it has in hand.

    If any part fails (NATS unreachable at start-up, say), the others are stopped and the error raised.
    """
    if settings.nats_url is None:
        raise ValueError("run_notifications_worker needs settings.nats_url")
    await check_database()
    notifier = Notifier(settings, consumer=durable)
    halt = asyncio.Event()
    spec = replace(SPEC, durable=durable, ack_wait=float(settings.ack_wait_seconds))
    tasks = [
        asyncio.create_task(consume(settings.nats_url, spec, _held_before_ack(notifier.handle_event), halt)),
        asyncio.create_task(sender_for(settings).run(halt, notifier.queued)),
        asyncio.create_task(run_reminder_scheduler(halt)),
    ]
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        halt.set()
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopping
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
