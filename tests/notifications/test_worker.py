"""The notification worker: real e-mail through aiosmtpd, real JetStream, both databases."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from booking.manage_links import find_booking_by_signed_token
from booking.service import cancel_booking
from events.envelope import STREAM_NAME
from events.relay import publish_pending
from events.stream import NatsUnavailable
from events.tables import OutboxEvent, ProcessedMessage
from notifications.mailer import DevMailboxMailer, SmtpMailer
from notifications.tables import Delivery, DevMessage
from notifications.worker import (
    FILTER_SUBJECT,
    Notifier,
    Outcome,
    run_notifications_worker,
)
from tests.events.support import body_of, book_one, settings_for, unique_email
from tests.support.services import commons_env, free_port, wait_for_async

BASE_URL = "http://commons.test"


async def confirmed_event(booking_id: int) -> dict:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "booking.confirmed")
    return next(e for e in map(lambda r: json.loads(r["payload"]), rows) if e["data"]["booking_id"] == booking_id)


def smtp_notifier(db, data_dir, smtp_url: str) -> Notifier:
    settings = settings_for(db.url, data_dir, COMMONS_SMTP_URL=smtp_url, COMMONS_BASE_URL=BASE_URL)
    return Notifier(settings, SmtpMailer(settings.smtp_url, settings.mail_from))


async def processed(event_id: str) -> int:
    return await ProcessedMessage.count().where(ProcessedMessage.event_id == event_id)


async def test_a_confirmation_email_is_sent_once_however_often_the_event_arrives(db, data_dir, smtp_server):
    email = unique_email()
    session, confirmation = await book_one(email=email)
    event = await confirmed_event(confirmation.booking_id)
    notifier = smtp_notifier(db, data_dir, smtp_server.url)

    assert await notifier.handle_event(event) is Outcome.DONE
    assert await notifier.handle_event(event) is Outcome.DONE

    [message] = smtp_server.sink.to(email)
    text = body_of(message)
    assert confirmation.reference in message["Subject"]
    assert confirmation.reference in text
    assert "WS12 1AA" in text
    assert message["Message-ID"] == f"<{event['id']}.booking_confirmed@commons>"
    deliveries = await Delivery.select().where(Delivery.event_id == event["id"])
    assert [(d["status"], d["recipient"], d["booking_reference"]) for d in deliveries] == [
        ("sent", email, confirmation.reference)
    ]
    assert await processed(event["id"]) == 1


async def test_the_manage_link_in_the_email_opens_the_booking(db, data_dir, smtp_server):
    email = unique_email()
    _, confirmation = await book_one(email=email)
    notifier = smtp_notifier(db, data_dir, smtp_server.url)
    await notifier.handle_event(await confirmed_event(confirmation.booking_id))

    [message] = smtp_server.sink.to(email)
    html = body_of(message, "html")
    prefix = f"{BASE_URL}/bookings/manage/"
    token = html.split(prefix, 1)[1].split('"', 1)[0]
    assert token.startswith(confirmation.reference + ".")

    booking = await find_booking_by_signed_token(notifier.settings.secret_key, token)
    assert booking is not None and booking.id == confirmation.booking_id


async def test_dev_mailbox_keeps_exactly_one_message(db, data_dir):
    email = unique_email()
    _, confirmation = await book_one(email=email)
    event = await confirmed_event(confirmation.booking_id)
    notifier = Notifier(settings_for(db.url, data_dir), DevMailboxMailer())

    await notifier.handle_event(event)
    await notifier.handle_event(event)

    messages = await DevMessage.select().where(DevMessage.recipient == email)
    assert len(messages) == 1
    assert confirmation.reference in messages[0]["text_body"]
    assert messages[0]["message_id"] == f"<{event['id']}.booking_confirmed@commons>"
    assert await processed(event["id"]) == 1


async def test_a_cancelled_booking_gets_no_confirmation(db, data_dir, smtp_server):
    email = unique_email()
    _, confirmation = await book_one(email=email)
    await cancel_booking(confirmation.reference, manage_token=confirmation.manage_token)
    event = await confirmed_event(confirmation.booking_id)

    assert await smtp_notifier(db, data_dir, smtp_server.url).handle_event(event) is Outcome.DONE

    assert smtp_server.sink.to(email) == []
    assert await processed(event["id"]) == 1


async def test_an_smtp_failure_is_recorded_and_retried(db, data_dir, smtp_server):
    email = unique_email()
    _, confirmation = await book_one(email=email)
    event = await confirmed_event(confirmation.booking_id)

    broken = smtp_notifier(db, data_dir, f"smtp://127.0.0.1:{free_port()}")
    assert await broken.handle_event(event) is Outcome.RETRY
    assert await processed(event["id"]) == 0

    assert await smtp_notifier(db, data_dir, smtp_server.url).handle_event(event) is Outcome.DONE
    statuses = await Delivery.select(Delivery.status).where(Delivery.event_id == event["id"]).order_by(Delivery.id)
    assert [row["status"] for row in statuses] == ["failed", "sent"]
    assert len(smtp_server.sink.to(email)) == 1


@asynccontextmanager
async def running_worker(settings, js, *, instances: int = 1):
    """The real worker loop (``instances`` of it, sharing one fresh durable consumer that starts at the
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


async def test_the_worker_emails_from_the_stream_and_ignores_a_redelivery(db, data_dir, js, nats_server, smtp_server):
    settings = settings_for(
        db.url, data_dir, COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url,
        COMMONS_BASE_URL=BASE_URL,
    )
    email = unique_email()
    async with running_worker(settings, js) as durable:
        _, confirmation = await book_one(email=email)
        while await publish_pending(js) == 100:
            pass
        await wait_for_async(lambda: smtp_server.sink.to(email), timeout=15, message="the confirmation e-mail")

        event = await confirmed_event(confirmation.booking_id)
        payload = json.dumps(event).encode()
        await js.publish("commons.booking.confirmed", payload, headers={"Nats-Msg-Id": f"again-{uuid.uuid4()}"})
        await js.publish("commons.booking.confirmed", b"not a cloudevent")
        await wait_for_async(lambda: consumer_idle(js, durable), timeout=15, message="the consumer to settle")

    [message] = smtp_server.sink.to(email)
    body = body_of(message)
    assert confirmation.reference in body
    assert f"{BASE_URL}/bookings/manage/{confirmation.reference}." in body
    assert await processed(event["id"]) == 1


async def test_the_worker_fails_loudly_when_nats_is_unreachable(db, data_dir):
    settings = settings_for(db.url, data_dir, COMMONS_NATS_URL=f"nats://127.0.0.1:{free_port()}")

    with pytest.raises(NatsUnavailable):
        await run_notifications_worker(settings, asyncio.Event())


async def test_two_workers_racing_on_postgresql_keep_one_dev_message(pg_engine, data_dir):
    email = unique_email()
    _, confirmation = await book_one(email=email)
    event = await confirmed_event(confirmation.booking_id)
    settings = settings_for(pg_engine.url, data_dir)
    notifiers = [Notifier(settings, DevMailboxMailer()) for _ in range(4)]

    outcomes = await asyncio.gather(*(n.handle_event(event) for n in notifiers))

    assert outcomes == [Outcome.DONE] * 4
    assert await DevMessage.count().where(DevMessage.recipient == email) == 1
    assert await Delivery.count().where(Delivery.event_id == event["id"]) == 1
    assert await processed(event["id"]) == 1


async def test_two_workers_on_one_durable_share_the_work_and_send_each_email_once(
    db, data_dir, js, nats_server, smtp_server
):
    settings = settings_for(
        db.url, data_dir, COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url,
        COMMONS_BASE_URL=BASE_URL,
    )
    emails = [unique_email() for _ in range(12)]
    async with running_worker(settings, js, instances=2) as durable:
        for email in emails:
            await book_one(email=email, party_size=1)
        while await publish_pending(js) == 100:
            pass
        await wait_for_async(
            lambda: all(smtp_server.sink.to(email) for email in emails), timeout=20, message="every confirmation"
        )
        await wait_for_async(lambda: consumer_idle(js, durable), timeout=15, message="the consumer to settle")

    assert [len(smtp_server.sink.to(email)) for email in emails] == [1] * len(emails)
    assert await Delivery.count().where(Delivery.recipient.is_in(emails)) == len(emails)


async def test_a_replay_republishes_and_the_worker_does_not_email_twice(db, data_dir, js, nats_server, smtp_server):
    settings = settings_for(
        db.url, data_dir, COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url,
        COMMONS_BASE_URL=BASE_URL,
    )
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    email = unique_email()
    async with running_worker(settings, js) as durable:
        _, confirmation = await book_one(email=email)
        event = await confirmed_event(confirmation.booking_id)
        # Published long ago, as far as JetStream's 2-minute duplicate window is concerned: no Msg-Id on record.
        await js.publish("commons.booking.confirmed", json.dumps(event).encode())
        await OutboxEvent.update({OutboxEvent.published_at: datetime.now(timezone.utc)}).where(
            OutboxEvent.event_id == event["id"]
        )
        await wait_for_async(lambda: smtp_server.sink.to(email), timeout=15, message="the confirmation e-mail")
        delivered_before = (await js.consumer_info(STREAM_NAME, durable)).delivered.stream_seq

        replay = subprocess.run(
            [sys.executable, "-m", "commons.cli", "events", "replay", "--since", since.isoformat()],
            env=commons_env(db.url, data_dir, COMMONS_NATS_URL=nats_server.url),
            capture_output=True, text=True, timeout=60,
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
        env=commons_env(sqlite_url, data_dir), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "COMMONS_NATS_URL" in result.stderr
