"""What the crash tests do and watch: bookings in bulk, the mail that arrived, the stream, the durable."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from booking.service import BookingConfirmation, book_place
from booking.tables import Session
from booking.validation import ResidentDetails
from events.envelope import STREAM_NAME
from events.tables import OutboxEvent
from notifications.states import MessageStatus, Template
from notifications.tables import OutboundMessage
from tests.builders import make_session
from tests.e2e.conftest import CommonsProcess
from tests.support.jetstream import caught_up
from tests.support.jetstream import consumer_info as durable_info
from tests.support.services import wait_for_async

NOTIFICATIONS = "notifications"  #: the notification workers' shared durable consumer
#: OutboundMessage states a sender will still act on.
UNFINISHED = [MessageStatus.PENDING.value, MessageStatus.SENDING.value]
CONCURRENT_BOOKINGS = 20
#: For tests that leave messages unacknowledged on purpose (a killed worker or nats-server): the
#: `notifications` durable's ack_wait (30 s in production) cut so they come back in seconds, yet still
#: well above the time a busy worker takes over a fetched batch. Time-outs use the ack_wait it really has.
QUICK_REDELIVERY = {"COMMONS_ACK_WAIT_SECONDS": "5"}
#: For the test that kills a sender mid-send: its lease (5 minutes in production) cut to seconds. Only
#: safe with one sender left: a lease shorter than a batch of sends lets another sender send again.
QUICK_LEASE = {"COMMONS_SEND_LEASE_SECONDS": "2"}
#: "(K7P-3QX)" at the end of a booking e-mail's Subject.
REFERENCE_IN_SUBJECT = re.compile(r"\(([A-Z0-9]{3}-[A-Z0-9]{3})\)$")


async def make_sessions(count: int, capacity: int) -> list[Session]:
    return [await make_session(capacity=capacity) for _ in range(count)]


async def book_many(
    sessions: list[Session], count: int, made: list[BookingConfirmation], *, concurrency: int = CONCURRENT_BOOKINGS
) -> None:
    """Book ``count`` places (one each, fresh residents) spread over ``sessions``, ``concurrency`` at a time.

    Each confirmation is appended to ``made`` as it happens, so a test can act part-way through.
    """
    run = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            resident = ResidentDetails(f"Resident {i}", f"faults-{run}-{i}@example.org")
            made.append(await book_place(sessions[i % len(sessions)].id, resident, 1))

    await asyncio.gather(*(one(i) for i in range(count)))


def subject_of(message) -> str:
    return " ".join(str(message["Subject"]).split())  # unfold a long header


def emails_of(sink, template: Template) -> list:
    """The e-mails of one kind, known by their Message-ID: <{event id}.{template}[.{resident id}]@commons>."""
    message_id = re.compile(rf"^<[^.]+\.{template.value}[.@]")
    return [m for m in list(sink.messages) if message_id.match(m["Message-ID"] or "")]


def confirmations_mailed(sink) -> Counter[str]:
    """How many confirmation e-mails arrived for each booking reference."""
    found = (REFERENCE_IN_SUBJECT.search(subject_of(m)) for m in emails_of(sink, Template.BOOKING_CONFIRMED))
    return Counter(match.group(1) for match in found if match)


def message_ids(sink) -> Counter[str]:
    return Counter(m["Message-ID"] for m in list(sink.messages))


async def stream_msg_ids(js: JetStreamContext) -> Counter[str]:
    """The Nats-Msg-Id of every message on the stream, counted."""
    info = await js.stream_info(STREAM_NAME)
    ids: Counter[str] = Counter()
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(STREAM_NAME, seq)
        ids[(msg.headers or {}).get("Nats-Msg-Id", "")] += 1
    return ids


async def consumer_info(js: JetStreamContext, durable: str = NOTIFICATIONS) -> ConsumerInfo | None:
    return await durable_info(js, durable)


async def ack_wait(js: JetStreamContext) -> float:
    """The ack_wait the `notifications` durable really has (a worker created it)."""
    info = await wait_for_async(lambda: consumer_info(js), timeout=15, message="the notifications durable")
    return info.config.ack_wait


async def settled(js: JetStreamContext, *durables: str) -> bool:
    """Nothing left that could still act: outbox published, the durables (`notifications` unless named)
    idle, the message queue finished."""
    if await OutboxEvent.count().where(OutboxEvent.published_at.is_null()):
        return False
    for durable in durables or (NOTIFICATIONS,):
        if not await caught_up(js, durable):
            return False
    return not await OutboundMessage.count().where(OutboundMessage.status.is_in(UNFINISHED))


async def wait_for_exit(process: CommonsProcess, *, timeout: float, message: str) -> int:
    """Wait for a ``commons`` process to end by itself; returns its exit code (-9 for SIGKILL)."""
    await wait_for_async(lambda: process.process.poll() is not None, timeout=timeout, interval=0.05, message=message)
    return process.process.returncode


async def publish_booking_confirmed(js: JetStreamContext, booking_id: int) -> str:
    """What the relay does, for one booking's ``booking.confirmed`` outbox row alone; returns the event id."""
    rows = await OutboxEvent.select(OutboxEvent.event_id, OutboxEvent.subject, OutboxEvent.payload).where(
        OutboxEvent.type == "booking.confirmed"
    )
    [row] = [row for row in rows if json.loads(row["payload"])["data"]["booking_id"] == booking_id]
    await js.publish(row["subject"], row["payload"].encode(), headers={"Nats-Msg-Id": row["event_id"]})
    return row["event_id"]
