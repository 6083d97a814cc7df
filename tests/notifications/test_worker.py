"""The notification worker as it runs: real JetStream, real SMTP, an SMS provider over HTTP, both databases."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from booking.service import book_place
from events.envelope import STREAM_NAME
from events.relay import publish_pending
from events.stream import NatsUnavailable
from events.tables import OutboxEvent, ProcessedMessage
from notifications.mailer import SmtpMailer
from notifications.sender import Sender
from notifications.tables import Delivery
from notifications.worker import FILTER_SUBJECT, run_notifications_worker
from tests.builders import daytime_zone, make_room, make_session, make_venue
from tests.events.support import body_of, book_one, unique_email
from tests.notifications.support import BASE_URL, notifier_for, notifier_settings, outbox_event, texting, twilio_url
from tests.support.services import commons_env, free_port, wait_for_async


async def processed(event_id: str) -> int:
    return await ProcessedMessage.count().where(ProcessedMessage.event_id == event_id)


async def test_an_event_handled_twice_is_emailed_once(db, data_dir, smtp_server, empty_queue):
    email = unique_email()
    _, confirmation = await book_one(email=email)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    notifier = notifier_for(db, data_dir)
    sender = Sender(SmtpMailer(smtp_server.url, notifier.settings.mail_from), None)

    await notifier.handle_event(event)
    await sender.send_due()
    await notifier.handle_event(event)
    await sender.send_due()

    [message] = smtp_server.sink.to(email)
    assert confirmation.reference in message["Subject"] and confirmation.reference in body_of(message)
    assert message["Message-ID"] == f"<{event['id']}.booking_confirmed@commons>"
    deliveries = await Delivery.select().where(Delivery.event_id == event["id"])
    assert [(d["status"], d["recipient"], d["booking_reference"]) for d in deliveries] == [
        ("sent", email, confirmation.reference)
    ]
    assert await processed(event["id"]) == 1


@asynccontextmanager
async def running_worker(settings, js, *, instances: int = 1):
    """The real worker (``instances`` of it, sharing one fresh durable consumer that starts at the
    end of the shared stream)."""
    durable = f"notifications-test-{uuid.uuid4().hex[:8]}"
    await js.add_consumer(
        STREAM_NAME,
        ConsumerConfig(
            durable_name=durable, deliver_policy=DeliverPolicy.NEW, ack_policy=AckPolicy.EXPLICIT,
            filter_subject=FILTER_SUBJECT, ack_wait=30, max_deliver=10,
        ),
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_notifications_worker(settings, stop, durable=durable)) for _ in range(instances)
    ]
    try:
        yield durable
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)
        await js.delete_consumer(STREAM_NAME, durable)


async def consumer_idle(js, durable: str) -> bool:
    info = await js.consumer_info(STREAM_NAME, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def publish_everything(js) -> None:
    while await publish_pending(js) == 100:
        pass


async def test_the_worker_emails_and_texts_from_the_stream_and_ignores_a_redelivery(
    db, data_dir, js, nats_server, smtp_server, twilio_fake, empty_queue
):
    settings = notifier_settings(
        db, data_dir, COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url,
        COMMONS_SMS_URL=twilio_url(twilio_fake),
    )
    details = texting()

    def texts_to(phone: str) -> list[dict]:
        # Other tests' events still unpublished on this database go out too, to other numbers.
        return [form for form in (request.form() for request in twilio_fake.requests) if form["To"] == phone]

    async with running_worker(settings, js) as durable:
        # A venue where it is late morning now: the worker reads the real clock, and texts wait out quiet hours.
        session = await make_session(room=await make_room(venue=await make_venue(time_zone=daytime_zone())))
        confirmation = await book_place(session.id, details, 1)
        await publish_everything(js)
        # Generous: the worker first works through whatever other tests left unpublished on this database.
        await wait_for_async(lambda: smtp_server.sink.to(details.email), timeout=60, message="the confirmation e-mail")
        await wait_for_async(lambda: texts_to(details.phone), timeout=60, message="the confirmation text")

        event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
        await js.publish(
            "commons.booking.confirmed", json.dumps(event).encode(), headers={"Nats-Msg-Id": f"again-{uuid.uuid4()}"}
        )
        await js.publish("commons.booking.confirmed", b"not a cloudevent")
        await wait_for_async(lambda: consumer_idle(js, durable), timeout=60, message="the consumer to settle")

    [message] = smtp_server.sink.to(details.email)
    body = body_of(message)
    assert confirmation.reference in body
    assert f"{BASE_URL}/bookings/manage/{confirmation.reference}." in body
    [text] = texts_to(details.phone)
    assert confirmation.reference in text["Body"]
    assert await processed(event["id"]) == 1


async def test_the_worker_fails_loudly_when_nats_is_unreachable(db, data_dir):
    settings = notifier_settings(db, data_dir, COMMONS_NATS_URL=f"nats://127.0.0.1:{free_port()}")

    with pytest.raises(NatsUnavailable):
        await run_notifications_worker(settings, asyncio.Event())


async def test_two_workers_on_one_durable_share_the_work_and_send_each_email_once(
    db, data_dir, js, nats_server, smtp_server, empty_queue
):
    settings = notifier_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url)
    emails = [unique_email() for _ in range(12)]
    async with running_worker(settings, js, instances=2) as durable:
        for email in emails:
            await book_one(email=email, party_size=1)
        await publish_everything(js)
        await wait_for_async(
            lambda: all(smtp_server.sink.to(email) for email in emails), timeout=20, message="every confirmation"
        )
        await wait_for_async(lambda: consumer_idle(js, durable), timeout=15, message="the consumer to settle")

    assert [len(smtp_server.sink.to(email)) for email in emails] == [1] * len(emails)
    assert await Delivery.count().where(Delivery.recipient.is_in(emails)) == len(emails)


async def test_a_replay_republishes_and_the_worker_does_not_email_twice(
    db, data_dir, js, nats_server, smtp_server, empty_queue
):
    settings = notifier_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url)
    since = datetime.now(UTC) - timedelta(seconds=1)
    email = unique_email()
    async with running_worker(settings, js) as durable:
        _, confirmation = await book_one(email=email)
        event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
        # Published long ago, as far as JetStream's 2-minute duplicate window is concerned: no Msg-Id on record.
        await js.publish("commons.booking.confirmed", json.dumps(event).encode())
        await OutboxEvent.update({OutboxEvent.published_at: datetime.now(UTC)}).where(
            OutboxEvent.event_id == event["id"]
        )
        await wait_for_async(lambda: smtp_server.sink.to(email), timeout=15, message="the confirmation e-mail")
        delivered_before = (await js.consumer_info(STREAM_NAME, durable)).delivered.stream_seq

        replay = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "commons.cli", "events", "replay", "--since", since.isoformat()],
            env=commons_env(db.url, data_dir, COMMONS_NATS_URL=nats_server.url),
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert replay.returncode == 0, replay.stderr
        assert "Republished 1 events" in replay.stdout

        async def replayed_and_settled() -> bool:
            info = await js.consumer_info(STREAM_NAME, durable)
            return info.delivered.stream_seq > delivered_before and await consumer_idle(js, durable)

        await wait_for_async(replayed_and_settled, timeout=15, message="the replayed event to be handled")

    assert len(smtp_server.sink.to(email)) == 1
    assert await processed(event["id"]) == 1
    assert await Delivery.count().where(Delivery.event_id == event["id"]) == 1


def test_replay_needs_a_nats_url(sqlite_url, data_dir):
    result = subprocess.run(
        [sys.executable, "-m", "commons.cli", "events", "replay", "--since", "2h"],
        env=commons_env(sqlite_url, data_dir), capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "COMMONS_NATS_URL" in result.stderr
