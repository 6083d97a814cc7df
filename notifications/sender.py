"""The sender loop: claim due messages, send each, record the attempt and what happens next.

A claim is one UPDATE that moves due rows to ``sending`` with a lease (``claimed_until``), so two
senders never hold the same row; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets them claim different
rows at once, on SQLite the write lock takes them in turn. A sender that dies mid-send leaves its
rows ``sending`` until the lease runs out, and then any sender claims them again.

Quiet hours are kept at every step, not only when a text is queued: a text claimed during the night at
its venue (a backlog, an expired lease) goes back until the morning, and a retry that would fall in the
night is due in the morning instead.

Senders that only write rows (the dev mailbox and dev outbox) send inside the transaction that
records the attempt: exactly once. A real SMTP server or SMS provider is called before that
transaction, so a crash between the two sends the message again after the lease: at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from booking.clock import Clock, SystemClock
from commons.db import is_sqlite, write_transaction
from commons.failpoints import failpoint
from events.consumer import DATABASE_ERRORS
from events.outbox import record_event
from notifications.mailer import Mailer, MailError
from notifications.messages import Email
from notifications.quiet_hours import next_allowed_send_time
from notifications.sms import PermanentSmsError, SmsProvider, TransientSmsError
from notifications.states import Channel, DeliveryStatus, MessageStatus
from notifications.tables import Delivery, OutboundMessage

log = logging.getLogger(__name__)

BATCH_SIZE = 10
LEASE = timedelta(minutes=5)  #: a send starts only in its first half (each send gives up after 15 s)
POLL_INTERVAL = 1.0  #: seconds between looks when nothing wakes the sender
MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(seconds=30)  #: the first retry; doubles with each attempt
RETRY_MAX = timedelta(hours=1)
MAX_ERROR_CHARS = 2000

@dataclass(frozen=True)
class Claimed:
    """A message this sender holds the lease on; ``attempts`` counts this one."""

    id: int
    event_id: str
    channel: str
    template: str
    recipient: str
    booking_reference: str
    subject: str
    text_body: str
    html_body: str
    unsubscribe_url: str
    message_id: str
    attempts: int
    quiet_hours_zone: str

    def allowed_from(self, instant: datetime) -> datetime:
        """``instant``, or for a text that would go out in its venue's quiet hours, the morning after."""
        if self.channel != Channel.SMS.value or not self.quiet_hours_zone:
            return instant
        return next_allowed_send_time(instant, self.quiet_hours_zone)

    def email(self) -> Email:
        return Email(
            to=self.recipient,
            subject=self.subject,
            text=self.text_body,
            html=self.html_body,
            template=self.template,
            message_id=self.message_id,
            unsubscribe_url=self.unsubscribe_url,
        )


_CLAIMED_COLUMNS = ", ".join(column.name for column in fields(Claimed))


@dataclass(frozen=True)
class Result:
    provider_message_id: str = ""
    error: str = ""  #: empty when the message was accepted
    permanent: bool = False  #: the provider refused it for good
    retry_after: float | None = None  #: seconds the provider asked us to wait


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """30 s after the first failure, doubling up to an hour, and never sooner than the provider asked."""
    delay = min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)
    return max(delay, timedelta(seconds=retry_after or 0))


class Sender:
    def __init__(
        self,
        mailer: Mailer,
        sms: SmsProvider | None,
        *,
        clock: Clock | None = None,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.mailer = mailer
        self.sms = sms  #: None: no provider configured (production without COMMONS_SMS_URL)
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Send until ``stop``; look again at once when ``wake`` is set, else every ``POLL_INTERVAL``."""
        while not stop.is_set():
            wake.clear()
            try:
                claimed = await self.send_due(stop)
            except DATABASE_ERRORS as exc:
                log.warning("notifications: sender database error (%s); trying again shortly", exc)
                claimed = 0
            if claimed < self.batch_size:
                await _either(wake, stop, timeout=POLL_INTERVAL)

    async def send_due(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch of due messages and send them; returns how many were claimed.

        A send starts only while at least half the lease is left, so with sends that give up well
        inside half a lease (15 s against 5 minutes) no other sender can take a message mid-send.
        Whatever is not started in time, or when asked to stop, goes back to the queue for anyone.
        Texts held for quiet hours count as claimed, so a backlog of them is worked through at once.
        """
        claimed, held = await self._claim()
        start_by = self.clock.now() + self.lease / 2
        try:
            for index, message in enumerate(claimed):
                if (stop is not None and stop.is_set()) or self.clock.now() > start_by:
                    await self._release(claimed[index:])
                    break
                await self._send(message)
        finally:
            await self.mailer.close()  # a batch's e-mails share one SMTP connection; none is kept idle
        return len(claimed) + held

    async def claim(self) -> list[Claimed]:
        """Take one batch of due messages to send; texts due in their quiet hours go back until the morning."""
        return (await self._claim())[0]

    async def _claim(self) -> tuple[list[Claimed], int]:
        """The messages to send now, and how many texts were claimed but held for quiet hours."""
        now = self.clock.now()
        db = OutboundMessage._meta.db
        lock = "" if is_sqlite(db) else " FOR UPDATE SKIP LOCKED"
        async with write_transaction(db):
            rows = await OutboundMessage.raw(
                "UPDATE outbound_message SET status = {}, claimed_until = {}, attempts = attempts + 1 "
                "WHERE id IN (SELECT id FROM outbound_message "
                "WHERE (status = {} AND next_attempt_at <= {} AND send_after <= {}) "
                "OR (status = {} AND claimed_until < {}) "
                f"ORDER BY id LIMIT {{}}{lock}) "
                f"RETURNING {_CLAIMED_COLUMNS}",
                MessageStatus.SENDING.value,
                now + self.lease,
                MessageStatus.PENDING.value,
                now,
                now,
                MessageStatus.SENDING.value,
                now,
                self.batch_size,
            )
            claimed = [Claimed(**row) for row in rows]
            held = [message for message in claimed if message.allowed_from(now) > now]
            await self._hold(held, now)
        to_send = [message for message in claimed if message not in held]
        return sorted(to_send, key=lambda message: message.id), len(held)

    async def _hold(self, messages: list[Claimed], now: datetime) -> None:
        """Put texts claimed in their quiet hours back, due in the morning, in the claim's transaction;
        no attempt is counted."""
        mornings: dict[datetime, list[int]] = {}
        for message in messages:
            mornings.setdefault(message.allowed_from(now), []).append(message.id)
        for morning, ids in mornings.items():
            await OutboundMessage.update(
                {
                    OutboundMessage.status: MessageStatus.PENDING.value,
                    OutboundMessage.claimed_until: None,
                    OutboundMessage.attempts: OutboundMessage.attempts - 1,
                    OutboundMessage.next_attempt_at: morning,
                }
            ).where(OutboundMessage.id.is_in(ids))

    async def _send(self, message: Claimed) -> None:
        db = OutboundMessage._meta.db
        if self._transactional(message):
            async with write_transaction(db):
                await self._record(message, await self._attempt(message))
            return
        result = await self._attempt(message)
        failpoint("notifications.after_send")
        async with write_transaction(db):
            await self._record(message, result)

    def _transactional(self, message: Claimed) -> bool:
        if message.channel == Channel.EMAIL.value:
            return self.mailer.transactional
        return self.sms is not None and self.sms.transactional

    async def _attempt(self, message: Claimed) -> Result:
        try:
            if message.channel == Channel.EMAIL.value:
                await self.mailer.deliver(message.email())
                return Result()
            if self.sms is None:
                return Result(error="No text message provider is configured", permanent=True)
            sent = await self.sms.send(message.recipient, message.text_body, reference=f"commons-{message.id}")
            return Result(provider_message_id=sent.provider_message_id)
        except MailError as exc:
            return Result(error=str(exc), permanent=exc.permanent)
        except PermanentSmsError as exc:
            return Result(error=str(exc), permanent=True)
        except TransientSmsError as exc:
            return Result(error=str(exc), retry_after=exc.retry_after)
        except Exception as exc:  # a bug in a backend: recorded and retried like any failure, never lost
            log.exception("notifications: unexpected error sending message %d", message.id)
            return Result(error=f"{type(exc).__name__}: {exc}")

    async def _record(self, message: Claimed, result: Result) -> None:
        """The attempt, the message's next state and its event, in the caller's transaction."""
        now = self.clock.now()
        final = bool(result.error) and (result.permanent or message.attempts >= self.max_attempts)
        [delivery] = await Delivery.insert(
            Delivery(
                event_id=message.event_id,
                channel=message.channel,
                template=message.template,
                recipient=message.recipient,
                booking_reference=message.booking_reference,
                status=DeliveryStatus.FAILED.value if result.error else DeliveryStatus.SENT.value,
                error=result.error[:MAX_ERROR_CHARS],
                message_id=result.provider_message_id or message.message_id,
                attempted_at=now,
                outbound_message=message.id,
                attempt=message.attempts,
                permanent=final,
            )
        ).returning(Delivery.id)
        still_ours = await OutboundMessage.update(self._next_state(message, result, final, now)).where(
            (OutboundMessage.id == message.id)
            & (OutboundMessage.status == MessageStatus.SENDING.value)
            & (OutboundMessage.attempts == message.attempts)
        ).returning(OutboundMessage.id)
        if not still_ours:
            log.warning("notifications: message %d was claimed again while this attempt ran", message.id)
        event: dict[str, Any] = {
            "delivery_id": delivery["id"],
            "event_id": message.event_id,
            "channel": message.channel,
            "template": message.template,
        }
        if result.error:
            await record_event("notification.failed", event | {"error": result.error[:500], "permanent": final})
            log.warning("notifications: message %d attempt %d failed: %s", message.id, message.attempts, result.error)
        else:
            await record_event("notification.sent", event)

    def _next_state(self, message: Claimed, result: Result, final: bool, now: datetime) -> dict:
        if not result.error:
            return {
                OutboundMessage.status: MessageStatus.SENT.value,
                OutboundMessage.sent_at: now,
                OutboundMessage.provider_message_id: result.provider_message_id,
                OutboundMessage.claimed_until: None,
                OutboundMessage.last_error: "",
            }
        state = {OutboundMessage.claimed_until: None, OutboundMessage.last_error: result.error[:MAX_ERROR_CHARS]}
        if final:
            return state | {OutboundMessage.status: MessageStatus.FAILED.value}
        return state | {
            OutboundMessage.status: MessageStatus.PENDING.value,
            OutboundMessage.next_attempt_at: message.allowed_from(now + retry_delay(message.attempts, result.retry_after)),
        }

    async def _release(self, messages: list[Claimed]) -> None:
        async with write_transaction(OutboundMessage._meta.db):
            await OutboundMessage.update(
                {
                    OutboundMessage.status: MessageStatus.PENDING.value,
                    OutboundMessage.claimed_until: None,
                    OutboundMessage.attempts: OutboundMessage.attempts - 1,
                }
            ).where(
                OutboundMessage.id.is_in([message.id for message in messages])
                & (OutboundMessage.status == MessageStatus.SENDING.value)
            )


async def _either(first: asyncio.Event, second: asyncio.Event, *, timeout: float) -> None:
    waiters = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
