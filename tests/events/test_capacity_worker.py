"""The capacity worker with a real nats-server and the relay, on both databases: freed places reach the
waiting list, expiry moves on, redeliveries do nothing, two worker processes share the work."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from booking.clock import SystemClock
from booking.openactive import FeedKind
from booking.programme import cancel_session, change_capacity, change_session
from booking.service import cancel_booking
from booking.states import BookingSource, BookingStatus, WaitlistMode
from booking.tables import Booking, OpenActiveItem, Session, WaitlistOffer
from booking.waitlist import accept_offer_by_hash, decline_offer_by_hash
from commons.capacity_worker import (
    CONSUMER,
    FILTER_SUBJECT,
    SESSION_SUBJECT,
    CapacityHandler,
    instance_name,
    run_capacity_worker,
)
from commons.runner import STARTUP_FAILURE
from events.envelope import STREAM_NAME
from events.relay import publish_pending
from events.tables import DeadLetter, OutboxEvent, ProcessedMessage
from tests.builders import make_session
from tests.e2e.conftest import CommonsProcess
from tests.events.support import settings_for
from tests.integration.test_waitlist import entry_status, full_session_with_queue, places
from tests.support.services import commons_env, free_port, wait_for_async

BURST = 30  #: sessions, each with one cancellation, for the two-process test


@asynccontextmanager
async def fresh_durable(js, durable: str):
    """The worker's durable consumer, starting at the end of the shared stream (other tests' events are
    about other databases), removed afterwards."""
    await js.add_consumer(
        STREAM_NAME,
        ConsumerConfig(
            durable_name=durable, deliver_policy=DeliverPolicy.NEW, ack_policy=AckPolicy.EXPLICIT,
            filter_subject=FILTER_SUBJECT, ack_wait=30, max_deliver=10,
        ),
    )
    try:
        yield durable
    finally:
        await js.delete_consumer(STREAM_NAME, durable)


@asynccontextmanager
async def running_worker(settings, js, clock, *, sweep_interval: float = 3600.0):
    """The real worker (consumer and sweep) in this process, on a fresh durable, with the test's clock."""
    async with fresh_durable(js, f"capacity-test-{uuid.uuid4().hex[:8]}") as durable:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_capacity_worker(settings, stop, clock=clock, sweep_interval=sweep_interval, durable=durable)
        )
        try:
            await wait_for_async(lambda: pulling(js, durable, 1), timeout=15, message="the worker to pull")
            yield durable
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=15)


async def pulling(js, durable: str, instances: int) -> bool:
    return (await js.consumer_info(STREAM_NAME, durable)).num_waiting >= instances


async def consumer_idle(js, durable: str) -> bool:
    info = await js.consumer_info(STREAM_NAME, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def publish_all(js) -> None:
    """What the relay does: publish every committed outbox row (other tests' rows too)."""
    while await publish_pending(js) == 100:
        pass


async def open_offer(entry_id: int) -> dict | None:
    return await WaitlistOffer.select().where((WaitlistOffer.entry == entry_id) & (WaitlistOffer.status == "open")).first()


async def offers_on(session_id: int) -> list[dict]:
    return await WaitlistOffer.select().where(WaitlistOffer.session == session_id).order_by(WaitlistOffer.id)


async def processed_by(durable: str, session_id: int) -> list[dict]:
    """What the worker recorded about one session (it also acts on other tests' leftover events)."""
    rows = await ProcessedMessage.select().where(ProcessedMessage.consumer == durable)
    return [row for row in rows if (await outbox_event(row["event_id"]))["data"]["session_id"] == session_id]


async def outbox_event(event_id: str) -> dict:
    row = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.event_id == event_id).first()
    return json.loads(row["payload"])


async def availability_events_since(outbox_id: int, session_ids: set[int]) -> list[dict]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(
        (OutboxEvent.id > outbox_id) & (OutboxEvent.type == "availability.changed")
    )
    events = [json.loads(row["payload"]) for row in rows]
    return [event for event in events if event["data"]["session_id"] in session_ids]


async def last_outbox_id() -> int:
    row = await OutboxEvent.select(OutboxEvent.id).order_by(OutboxEvent.id, ascending=False).first()
    return row["id"] if row else 0


def worker_settings(db, data_dir, nats_server):
    return settings_for(db.url, data_dir, COMMONS_NATS_URL=nats_server.url)


# --- One worker in this process, with a clock the test moves ------------------------------------


async def test_a_freed_place_is_offered_to_the_first_in_line_who_accepts_it(db, js, nats_server, data_dir):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    async with running_worker(worker_settings(db, data_dir, nats_server), js, clock) as durable:
        await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
        await publish_all(js)
        offer = await wait_for_async(
            lambda: open_offer(queue[0].waitlist_entry_id), timeout=15, message="an offer to the first in line"
        )
        await wait_for_async(lambda: consumer_idle(js, durable), timeout=15, message="the consumer to settle")

    assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}
    assert offer["expires_at"] == clock.now() + timedelta(hours=12)
    assert await entry_status(queue[1].waitlist_entry_id) == "waiting"
    [processed] = await processed_by(durable, session.id)
    assert processed["handled_by"] == instance_name()
    event = await outbox_event(processed["event_id"])
    assert event["type"] == "availability.changed"
    assert event["data"] == {"session_id": session.id, "capacity": 2, "booked": 1, "places_left": 1}

    confirmation = await accept_offer_by_hash(offer["token_hash"], clock)

    assert confirmation.resident_id == queue[0].resident_id and confirmation.party_size == 1
    assert await places(session.id) == {"capacity": 2, "booked": 2, "held": 0}
    booking = await Booking.select(Booking.source).where(Booking.id == confirmation.booking_id).first()
    assert booking["source"] == BookingSource.WAITLIST.value


async def test_a_declined_offer_moves_to_the_next_in_line_once(db, js, nats_server, data_dir):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    async with running_worker(worker_settings(db, data_dir, nats_server), js, clock) as durable:
        await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
        await publish_all(js)
        first = await wait_for_async(lambda: open_offer(queue[0].waitlist_entry_id), timeout=15, message="an offer")

        await decline_offer_by_hash(first["token_hash"], clock)
        await publish_all(js)  # the decline's availability.changed reaches the worker too
        await wait_for_async(lambda: consumer_idle(js, durable), timeout=15, message="the consumer to settle")

    second = await open_offer(queue[1].waitlist_entry_id)
    assert second is not None
    assert [(o["entry"], o["status"]) for o in await offers_on(session.id)] == [
        (queue[0].waitlist_entry_id, "declined"),
        (queue[1].waitlist_entry_id, "open"),
    ]
    assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}
    assert len(await processed_by(durable, session.id)) == 1  # the decline's event found nothing left to offer


async def test_the_sweep_expires_an_offer_and_offers_the_place_to_the_next_in_line(db, js, nats_server, data_dir):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    settings = worker_settings(db, data_dir, nats_server)
    async with running_worker(settings, js, clock, sweep_interval=0.05):
        await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
        await publish_all(js)
        first = await wait_for_async(lambda: open_offer(queue[0].waitlist_entry_id), timeout=15, message="an offer")

        clock.advance(timedelta(hours=12))
        second = await wait_for_async(
            lambda: open_offer(queue[1].waitlist_entry_id), timeout=15, message="the sweep to move on"
        )

    assert second["expires_at"] == clock.now() + timedelta(hours=12)
    expired = await WaitlistOffer.select(WaitlistOffer.status).where(WaitlistOffer.id == first["id"]).first()
    assert expired["status"] == "expired"
    assert await entry_status(queue[0].waitlist_entry_id) == "expired"
    assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}


async def test_automatic_mode_books_the_first_in_line_directly(db, js, nats_server, data_dir):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1], waitlist_mode=WaitlistMode.AUTOMATIC)
    async with running_worker(worker_settings(db, data_dir, nats_server), js, clock):
        await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
        await publish_all(js)
        await wait_for_async(
            lambda: _entry_is(queue[0].waitlist_entry_id, "booked"), timeout=15, message="the automatic booking"
        )

    booking = await Booking.select(Booking.party_size, Booking.source, Booking.status).where(
        (Booking.session == session.id) & (Booking.resident == queue[0].resident_id)
    ).first()
    assert booking == {"party_size": 1, "source": BookingSource.WAITLIST.value, "status": BookingStatus.CONFIRMED.value}
    assert await places(session.id) == {"capacity": 2, "booked": 2, "held": 0}
    assert await offers_on(session.id) == []
    assert await entry_status(queue[1].waitlist_entry_id) == "waiting"


async def test_raising_the_capacity_offers_the_new_places(db, js, nats_server, data_dir):
    session, _, queue, clock = await full_session_with_queue(2, [1, 2])
    async with running_worker(worker_settings(db, data_dir, nats_server), js, clock):
        await change_capacity(session.id, 5)
        await publish_all(js)
        await wait_for_async(lambda: open_offer(queue[1].waitlist_entry_id), timeout=15, message="the second offer")

    assert [(o["entry"], o["party_size"]) for o in await offers_on(session.id)] == [
        (queue[0].waitlist_entry_id, 1),
        (queue[1].waitlist_entry_id, 2),
    ]
    assert await places(session.id) == {"capacity": 5, "booked": 2, "held": 3}


async def openactive_session(session_id: int) -> dict | None:
    """The session's ScheduledSession item: its state and, while live, its data."""
    row = await OpenActiveItem.select().where(
        (OpenActiveItem.kind == FeedKind.SCHEDULED_SESSIONS.value) & (OpenActiveItem.item_id == str(session_id))
    ).first()
    return None if row is None else {"state": row["state"], "data": json.loads(row["data"] or "{}")}


async def test_moving_and_cancelling_a_session_reach_its_openactive_item_without_the_sweep(
    db, js, nats_server, data_dir
):
    session = await make_session(capacity=8)
    # An hour between sweeps: only the session events can bring the item up to date within the test.
    async with running_worker(worker_settings(db, data_dir, nats_server), js, clock=SystemClock()) as durable:
        # The worker widened the test's availability-only durable to the session subjects too.
        config = (await js.consumer_info(STREAM_NAME, durable)).config
        assert set(config.filter_subjects) == {FILTER_SUBJECT, SESSION_SUBJECT}
        # The sweep at start-up publishes the session; after that it sleeps for the hour.
        first = await wait_for_async(lambda: openactive_session(session.id), timeout=15, message="the first sweep")
        assert datetime.fromisoformat(first["data"]["startDate"]) == session.starts_at

        new_start = session.starts_at + timedelta(days=1, hours=2)
        await change_session(session.id, starts_at=new_start)
        await publish_all(js)

        async def moved():
            item = await openactive_session(session.id)
            return item["state"] == "updated" and datetime.fromisoformat(item["data"]["startDate"]) == new_start

        await wait_for_async(moved, timeout=15, message="the feed to show the new start")

        await cancel_session(session.id, "The instructor is ill.")
        await publish_all(js)

        async def deleted():
            return (await openactive_session(session.id))["state"] == "deleted"

        await wait_for_async(deleted, timeout=15, message="the feed to say the session is deleted")


async def test_a_redelivered_event_makes_no_second_offer(db, js, nats_server, data_dir):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    async with running_worker(worker_settings(db, data_dir, nats_server), js, clock) as durable:
        await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
        await publish_all(js)
        await wait_for_async(lambda: open_offer(queue[0].waitlist_entry_id), timeout=15, message="the first offer")
        await wait_for_async(lambda: consumer_idle(js, durable), timeout=15, message="the consumer to settle")
        [processed] = await processed_by(durable, session.id)
        event = await outbox_event(processed["event_id"])
        # A place appears behind the worker's back (no event): only its record can stop a second offer.
        await Session.raw("UPDATE session SET capacity = capacity + 1 WHERE id = {}", session.id)
        delivered = (await js.consumer_info(STREAM_NAME, durable)).delivered.stream_seq
        await js.publish(
            "commons.availability.changed", json.dumps(event).encode(), headers={"Nats-Msg-Id": f"again-{uuid.uuid4()}"}
        )
        await wait_for_async(
            lambda: _delivered_beyond(js, durable, delivered), timeout=15, message="the redelivery to be handled"
        )

        assert await open_offer(queue[1].waitlist_entry_id) is None
        assert await ProcessedMessage.count().where(ProcessedMessage.event_id == event["id"]) == 1

        await change_capacity(session.id, 3)  # a new event: the worker is alive and offers the place now
        await publish_all(js)
        await wait_for_async(lambda: open_offer(queue[1].waitlist_entry_id), timeout=15, message="the new offer")

    assert await places(session.id) == {"capacity": 3, "booked": 1, "held": 2}
    assert len(await offers_on(session.id)) == 2


async def test_instances_racing_on_one_event_make_one_offer(db):
    session, bookings, queue, clock = await full_session_with_queue(2, [1, 1])
    mark = await last_outbox_id()
    await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
    [event] = await availability_events_since(mark, {session.id})
    durable = f"capacity-race-{uuid.uuid4().hex[:8]}"
    handlers = [CapacityHandler(clock, consumer=durable, instance=f"instance-{n}") for n in range(4)]

    outcomes = await asyncio.gather(*(handler.handle_event(event) for handler in handlers))

    assert {outcome.value for outcome in outcomes} == {"done"}
    assert len(await offers_on(session.id)) == 1
    assert await places(session.id) == {"capacity": 2, "booked": 1, "held": 1}
    [processed] = await processed_by(durable, session.id)
    assert processed["event_id"] == event["id"]


async def _entry_is(entry_id: int, status: str) -> bool:
    return await entry_status(entry_id) == status


async def _delivered_beyond(js, durable: str, stream_seq: int) -> bool:
    info = await js.consumer_info(STREAM_NAME, durable)
    return info.delivered.stream_seq > stream_seq and info.num_pending == 0 and info.num_ack_pending == 0


# --- `commons worker capacity` as real processes ------------------------------------------------


async def test_two_worker_processes_share_a_burst_and_offer_each_place_once(db, js, nats_server, data_dir, tmp_path):
    queues = {}
    cancellations = []
    for _ in range(BURST):
        session, bookings, queue, _clock = await full_session_with_queue(2, [1, 1])
        queues[session.id] = queue
        cancellations.append(bookings[0])
    await publish_all(js)
    env = commons_env(db.url, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with fresh_durable(js, CONSUMER):
        workers = [CommonsProcess(["worker", "capacity"], env, tmp_path / f"capacity-{n}.log") for n in range(2)]
        try:
            await wait_for_async(lambda: pulling(js, CONSUMER, 2), timeout=30, message="both workers to pull")
            mark = await last_outbox_id()
            for booking in cancellations:
                await cancel_booking(booking.reference, manage_token=booking.manage_token)
            events = await availability_events_since(mark, set(queues))
            for event in events:  # every event twice in a row, so the instances race for the same event too
                for copy in ("first", "again"):
                    await js.publish(
                        FILTER_SUBJECT, json.dumps(event).encode(), headers={"Nats-Msg-Id": f"{copy}-{event['id']}"}
                    )
            await wait_for_async(
                lambda: _offers_made(queues), timeout=60, message=f"an offer on each of the {BURST} sessions"
            )
            await wait_for_async(lambda: consumer_idle(js, CONSUMER), timeout=30, message="the consumer to settle")
            exit_codes = [await asyncio.to_thread(worker.signal, signal.SIGTERM) for worker in workers]
        finally:
            for worker in workers:
                worker.close()

    assert exit_codes == [0, 0]
    assert len(events) == BURST
    ids = [event["id"] for event in events]
    processed = await ProcessedMessage.select().where(
        (ProcessedMessage.consumer == CONSUMER) & ProcessedMessage.event_id.is_in(ids)
    )
    assert sorted(row["event_id"] for row in processed) == sorted(ids)  # each once
    host = socket.gethostname()
    assert {row["handled_by"] for row in processed} <= {f"{host}:{worker.process.pid}" for worker in workers}
    # Both processes took a share of the 2 x BURST messages (an event or its copy), none lost or doubled.
    acknowledged = [_acknowledged(worker.log) for worker in workers]
    assert all(count > 0 for count in acknowledged), acknowledged
    assert sum(acknowledged) == 2 * BURST
    for session_id, queue in queues.items():
        assert [(o["entry"], o["status"]) for o in await offers_on(session_id)] == [(queue[0].waitlist_entry_id, "open")]
        assert await places(session_id) == {"capacity": 2, "booked": 1, "held": 1}
    [overbooked] = await Session.raw("SELECT COUNT(*) AS n FROM session WHERE booked + held > capacity")
    assert overbooked["n"] == 0
    assert await DeadLetter.count().where(DeadLetter.event_id.is_in(ids)) == 0


def _acknowledged(log: str) -> int:
    [count] = re.findall(rf"{CONSUMER}: acknowledged (\d+) messages in this process", log)
    return int(count)


async def _offers_made(queues: dict) -> bool:
    entries = [queue[0].waitlist_entry_id for queue in queues.values()]
    return await WaitlistOffer.count().where(WaitlistOffer.entry.is_in(entries)) == len(entries)


async def test_the_worker_process_exits_0_on_sigterm(db, js, nats_server, data_dir, tmp_path):
    session, bookings, queue, _ = await full_session_with_queue(1, [1])
    env = commons_env(db.url, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with fresh_durable(js, CONSUMER):
        worker = CommonsProcess(["worker", "capacity"], env, tmp_path / "capacity.log")
        try:
            await wait_for_async(lambda: pulling(js, CONSUMER, 1), timeout=30, message="the worker to pull")
            await cancel_booking(bookings[0].reference, manage_token=bookings[0].manage_token)
            await publish_all(js)
            await wait_for_async(lambda: open_offer(queue[0].waitlist_entry_id), timeout=15, message="an offer")
            exit_code = await asyncio.to_thread(worker.signal, signal.SIGTERM)
        finally:
            worker.close()

    assert exit_code == 0
    assert "received SIGTERM" in worker.log and "capacity: stopped" in worker.log
    assert await places(session.id) == {"capacity": 1, "booked": 0, "held": 1}


def test_the_worker_fails_loudly_when_nats_is_unreachable(sqlite_url, data_dir):
    nats_url = f"nats://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "commons.cli", "worker", "capacity"],
        env=commons_env(sqlite_url, data_dir, COMMONS_NATS_URL=nats_url),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == STARTUP_FAILURE
    assert f"commons worker capacity: could not connect to NATS at {nats_url}" in result.stderr


def test_the_worker_fails_loudly_when_the_database_is_not_migrated(tmp_path, data_dir, nats_server):
    result = subprocess.run(
        [sys.executable, "-m", "commons.cli", "worker", "capacity"],
        env=commons_env(f"sqlite:///{tmp_path}/empty.sqlite3", data_dir, COMMONS_NATS_URL=nats_server.url),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "no such table: waitlist_offer" in result.stderr
