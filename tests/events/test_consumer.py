"""The generic pull-consumer loop: retries, dead letters and the ``commons events dead-letters`` command."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from contextlib import asynccontextmanager

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from events.consumer import ConsumerSpec, Outcome, run_consumer
from events.envelope import STREAM_NAME, encode, make_event
from events.tables import DeadLetter
from tests.support.services import commons_env, wait_for_async

MAX_DELIVER = 3
SLOW_RETRY = 1.0  #: seconds before a poison event's first retry (then twice that), long enough to see


@asynccontextmanager
async def running_consumer(js, handler, *, retry_base: float = 0.01):
    """The real loop on a fresh durable that starts at the end of the shared stream, quick retries unless told."""
    spec = ConsumerSpec(durable=f"test-{uuid.uuid4().hex[:8]}", max_deliver=MAX_DELIVER, retry_base=retry_base)
    await js.add_consumer(
        STREAM_NAME,
        ConsumerConfig(
            durable_name=spec.durable, deliver_policy=DeliverPolicy.NEW, ack_policy=AckPolicy.EXPLICIT,
            filter_subject=spec.subjects[0], ack_wait=30, max_deliver=MAX_DELIVER,
        ),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumer(js, spec, handler, stop))
    try:
        yield spec
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
        await js.delete_consumer(STREAM_NAME, spec.durable)


def an_event(kind: str) -> dict:
    return make_event("availability.changed", {"session_id": 1, "capacity": 1, "booked": 0, "places_left": 1, "kind": kind})


async def dead_letters(consumer: str) -> list[dict]:
    return await DeadLetter.select().where(DeadLetter.consumer == consumer).order_by(DeadLetter.id)


async def test_poison_messages_are_dead_lettered_and_the_next_message_is_still_handled(db, js, data_dir):
    handled: list[str] = []
    attempts: dict[str, int] = {}

    async def handler(event: dict) -> Outcome:
        attempts[event["id"]] = attempts.get(event["id"], 0) + 1
        if event["data"]["kind"] == "poison":
            raise RuntimeError("this event breaks the handler")
        handled.append(event["id"])
        return Outcome.DONE

    poison, good = an_event("poison"), an_event("good")
    async with running_consumer(js, handler) as spec:
        await js.publish("commons.availability.changed", b"{not json")
        await js.publish("commons.availability.changed", encode(poison))
        await js.publish("commons.availability.changed", encode(good))
        await wait_for_async(lambda: len(handled) == 1, timeout=15, message="the good event")
        await wait_for_async(
            lambda: _count(dead_letters(spec.durable), 2), timeout=15, message="two dead letters"
        )
        info = await js.consumer_info(STREAM_NAME, spec.durable)
        assert info.num_pending == 0 and info.num_ack_pending == 0

    assert handled == [good["id"]]
    assert attempts[poison["id"]] == MAX_DELIVER
    malformed, failed = await dead_letters(spec.durable)
    assert (malformed["event_id"], malformed["payload"], malformed["deliveries"]) == (None, "{not json", 1)
    assert malformed["subject"] == "commons.availability.changed" and "not JSON" in malformed["error"]
    assert failed["event_id"] == poison["id"] and failed["deliveries"] == MAX_DELIVER
    assert "RuntimeError: this event breaks the handler" in failed["error"]
    assert json.loads(failed["payload"])["id"] == poison["id"]

    listing = run_cli(db.url, data_dir, "events", "dead-letters")
    line = next(line for line in listing.splitlines() if poison["id"] in line)
    assert spec.durable in line and "commons.availability.changed" in line and "RuntimeError" in line
    assert listing.splitlines()[0].split() == ["time", "consumer", "subject", "event", "id", "deliveries", "error"]

    as_json = json.loads(run_cli(db.url, data_dir, "events", "dead-letters", "--json", "--limit", "1000"))
    mine = [row for row in as_json if row["consumer"] == spec.durable]
    assert [row["event_id"] for row in mine] == [poison["id"], None]  # newest first


async def test_a_retry_outcome_is_retried_with_a_delay_then_dead_lettered(db, js):
    seen: list[int] = []

    async def handler(event: dict) -> Outcome:
        seen.append(1)
        return Outcome.RETRY

    event = an_event("flaky")
    async with running_consumer(js, handler) as spec:
        await js.publish("commons.availability.changed", encode(event))
        await wait_for_async(lambda: _count(dead_letters(spec.durable), 1), timeout=15, message="a dead letter")

    assert len(seen) == MAX_DELIVER
    [letter] = await dead_letters(spec.durable)
    assert letter["event_id"] == event["id"] and "retry" in letter["error"]


async def test_a_slowly_retried_poison_event_never_holds_up_the_events_behind_it(db, js):
    """A well-formed event that breaks the handler every time is retried after 1 s and then 2 s; the 20
    events published after it are all handled in the first of those waits, long before its dead letter."""
    log: list[tuple[str, str, float]] = []  #: (kind, event id, when the handler was called), in order
    dead_letters_when_last_good_handled: list[int] = []
    goods = [an_event("good") for _ in range(20)]

    async def handler(event: dict) -> Outcome:
        log.append((event["data"]["kind"], event["id"], time.monotonic()))
        if event["data"]["kind"] == "poison":
            raise RuntimeError("this event breaks the handler every time")
        if event["id"] == goods[-1]["id"]:
            dead_letters_when_last_good_handled.append(len(await dead_letters(spec.durable)))
        return Outcome.DONE

    poison = an_event("poison")
    async with running_consumer(js, handler, retry_base=SLOW_RETRY) as spec:
        await js.publish("commons.availability.changed", encode(poison))
        for good in goods:
            await js.publish("commons.availability.changed", encode(good))
        await wait_for_async(lambda: _count(dead_letters(spec.durable), 1), timeout=30, message="the dead letter")

        async def nothing_outstanding() -> bool:  # the dead letter is written just before the message is ended
            info = await js.consumer_info(STREAM_NAME, spec.durable)
            return info.num_pending == 0 and info.num_ack_pending == 0

        await wait_for_async(nothing_outstanding, timeout=10, message="no message pending or awaiting its ack")

    poison_calls = [when for kind, _, when in log if kind == "poison"]
    assert len(poison_calls) == MAX_DELIVER
    assert poison_calls[1] - poison_calls[0] >= SLOW_RETRY * 0.9  # the back-off really waited
    assert poison_calls[2] - poison_calls[1] >= SLOW_RETRY * 2 * 0.9
    handled = [event_id for kind, event_id, _ in log if kind == "good"]
    assert sorted(handled) == sorted(good["id"] for good in goods)  # each once
    last_good = max(when for kind, _, when in log if kind == "good")
    # Not blocked behind the poison's wait: all handled before its first retry was even due.
    assert last_good < poison_calls[0] + SLOW_RETRY <= poison_calls[1]
    assert dead_letters_when_last_good_handled == [0]
    [letter] = await dead_letters(spec.durable)
    assert letter["event_id"] == poison["id"] and letter["deliveries"] == MAX_DELIVER
    assert "RuntimeError: this event breaks the handler every time" in letter["error"]


async def _count(rows, expected: int) -> bool:
    return len(await rows) == expected


def run_cli(database_url: str, data_dir, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "commons.cli", *args],
        env=commons_env(database_url, data_dir), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
