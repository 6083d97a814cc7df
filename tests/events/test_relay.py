"""The outbox relay against real SQLite, PostgreSQL and nats-server."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import pytest

from booking.service import book_place
from booking.validation import ResidentDetails
from events import relay
from events.envelope import decode
from events.relay import PublishFailed, publish_pending, run_relay
from events.tables import OutboxEvent
from tests.builders import make_session
from tests.events.support import book_one, settings_for, stream_messages, unique_email
from tests.support.services import wait_for_async


async def outbox_row(booking_id: int) -> dict:
    rows = await OutboxEvent.select().where(OutboxEvent.type == "booking.confirmed")
    return next(r for r in rows if json.loads(r["payload"])["data"]["booking_id"] == booking_id)


async def publish_all(js) -> None:
    """Drain the outbox (it may hold other tests' rows too)."""
    while await publish_pending(js, limit=100) == 100:
        pass


@asynccontextmanager
async def running_relay(settings):
    stop = asyncio.Event()
    task = asyncio.create_task(run_relay(settings, stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def test_relay_publishes_a_cloudevent_with_the_event_id_as_msg_id(db, js):
    _, confirmation = await book_one()
    row = await outbox_row(confirmation.booking_id)
    assert row["published_at"] is None

    await publish_all(js)

    [msg] = await stream_messages(js, msg_id=row["event_id"])
    assert msg.subject == "commons.booking.confirmed"
    assert msg.headers["Nats-Msg-Id"] == row["event_id"]
    event = decode(msg.data)
    assert event["specversion"] == "1.0"
    assert event["id"] == row["event_id"]
    assert event["type"] == "booking.confirmed"
    assert event["data"]["reference"] == confirmation.reference
    assert (await outbox_row(confirmation.booking_id))["published_at"] is not None


async def test_publishing_the_same_row_twice_leaves_one_message_on_the_stream(db, js):
    _, confirmation = await book_one()
    await publish_all(js)
    row = await outbox_row(confirmation.booking_id)
    # As if the relay crashed after the PubAck but before marking the row.
    await OutboxEvent.update({OutboxEvent.published_at: None}).where(OutboxEvent.id == row["id"])

    await publish_all(js)

    assert len(await stream_messages(js, msg_id=row["event_id"])) == 1
    assert (await outbox_row(confirmation.booking_id))["published_at"] is not None


async def test_a_failed_publish_is_recorded_and_the_row_stays_unpublished(db, js, nats_server):
    await publish_all(js)
    _, confirmation = await book_one()
    nats_server.kill()
    try:
        with pytest.raises(PublishFailed):
            await publish_all(js)
    finally:
        nats_server.start()
    # A booking writes more than one event; the relay stops at the first row that fails.
    first = (await OutboxEvent.select().where(OutboxEvent.published_at.is_null()).order_by(OutboxEvent.id))[0]
    assert first["attempts"] >= 1
    assert first["last_error"]
    assert (await outbox_row(confirmation.booking_id))["published_at"] is None


async def test_bookings_succeed_while_nats_is_down_and_the_relay_catches_up(db, js, nats_server, data_dir):
    settings = settings_for(db.url, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with running_relay(settings):
        await publish_all(js)  # start from an empty outbox, whatever earlier tests left
        nats_server.kill()
        try:
            session = await make_session()
            confirmation = await book_place(session.id, ResidentDetails("Grace Hopper", unique_email()), 1)
            row = await outbox_row(confirmation.booking_id)
            assert row["published_at"] is None
        finally:
            nats_server.start()

        await wait_for_async(
            lambda: _is_published(confirmation.booking_id), timeout=30, message="the relay to catch up"
        )
    assert len(await stream_messages(js, msg_id=row["event_id"])) == 1


async def _is_published(booking_id: int) -> bool:
    return (await outbox_row(booking_id))["published_at"] is not None


async def test_the_relay_keeps_retrying_when_nats_is_not_there_at_start(db, js, nats_server, data_dir, caplog):
    nats_server.kill()
    caplog.set_level("WARNING", logger="events.relay")
    try:
        settings = settings_for(db.url, data_dir, COMMONS_NATS_URL=nats_server.url)
        async with running_relay(settings) as task:
            _, confirmation = await book_one()

            def failed_attempts() -> int:
                return sum("NATS not ready" in r.getMessage() for r in caplog.records)

            await wait_for_async(lambda: failed_attempts() >= 2, timeout=15, message="two failed connection attempts")
            assert not task.done()
            nats_server.start()
            await wait_for_async(lambda: _is_published(confirmation.booking_id), timeout=30, message="publication")
    finally:
        if nats_server.process.poll() is not None:
            nats_server.start()


async def test_listen_notify_wakes_the_relay_well_before_the_fallback_poll(
    pg_engine, js, nats_server, data_dir, monkeypatch
):
    monkeypatch.setattr(relay, "POSTGRES_POLL_INTERVAL", 60.0)
    settings = settings_for(pg_engine.url, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with running_relay(settings):
        # Once the relay has published something it is in its loop, listening.
        _, first = await book_one()
        await wait_for_async(lambda: _is_published(first.booking_id), timeout=15, message="a running relay")

        _, confirmation = await book_one()

        await wait_for_async(
            lambda: _is_published(confirmation.booking_id), timeout=3, message="NOTIFY to wake the relay"
        )


async def test_two_relays_on_postgresql_publish_each_event_once(pg_engine, js, nats_server, data_dir):
    settings = settings_for(pg_engine.url, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with running_relay(settings), running_relay(settings):
        confirmations = [(await book_one())[1] for _ in range(5)]
        for confirmation in confirmations:
            await wait_for_async(lambda c=confirmation: _is_published(c.booking_id), timeout=15, message="publication")
    for confirmation in confirmations:
        row = await outbox_row(confirmation.booking_id)
        assert len(await stream_messages(js, msg_id=row["event_id"])) == 1
