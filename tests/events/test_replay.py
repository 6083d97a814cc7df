"""Retention of published outbox rows, and reading ``--since``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from events.envelope import encode, make_event
from events.relay import run_relay
from events.replay import parse_since, prune_published, retention_period
from events.tables import OutboxEvent
from tests.events.support import settings_for
from tests.support.services import wait_for_async

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


async def outbox_row(*, age_days: int, published: bool) -> str:
    created = NOW - timedelta(days=age_days)
    event = make_event("availability.changed", {"session_id": 0, "capacity": 1, "booked": 0, "places_left": 1})
    await OutboxEvent.insert(
        OutboxEvent(
            event_id=event["id"], type=event["type"], subject="commons.availability.changed",
            payload=encode(event).decode(), created_at=created, published_at=created if published else None,
        )
    )
    return event["id"]


async def test_prune_deletes_only_published_rows_past_the_retention_period(db):
    old_published = await outbox_row(age_days=31, published=True)
    old_unpublished = await outbox_row(age_days=31, published=False)
    recent = await outbox_row(age_days=29, published=True)

    assert await prune_published(timedelta(days=30), now=NOW) >= 1

    left = {r["event_id"] for r in await OutboxEvent.select(OutboxEvent.event_id)}
    assert old_published not in left
    assert {old_unpublished, recent} <= left
    await OutboxEvent.delete().where(OutboxEvent.event_id.is_in([old_unpublished, recent]))  # leave no strays


def test_retention_defaults_to_30_days_and_reads_the_environment():
    assert retention_period({}) == timedelta(days=30)
    assert retention_period({"COMMONS_OUTBOX_RETENTION_DAYS": "7"}) == timedelta(days=7)
    with pytest.raises(ValueError, match="COMMONS_OUTBOX_RETENTION_DAYS"):
        retention_period({"COMMONS_OUTBOX_RETENTION_DAYS": "0"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("1d", NOW - timedelta(days=1)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2026-11-20T09:30:00Z", datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)),
        ("2026-11-20T09:30", datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)),
        ("2026-11-20T10:30+01:00", datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)),
    ],
)
def test_since_takes_a_duration_or_an_iso_time(text, expected):
    assert parse_since(text, now=NOW) == expected


def test_since_refuses_anything_else():
    with pytest.raises(ValueError, match="2h or 1d"):
        parse_since("yesterday", now=NOW)



async def test_the_running_relay_prunes_the_outbox_to_its_retention_period(db, nats_server, data_dir):
    expired = datetime.now(timezone.utc) - timedelta(days=31)
    event = make_event("availability.changed", {"session_id": 0, "capacity": 1, "booked": 0, "places_left": 1})
    await OutboxEvent.insert(
        OutboxEvent(
            event_id=event["id"], type=event["type"], subject="commons.availability.changed",
            payload=encode(event).decode(), created_at=expired, published_at=expired,
        )
    )

    async def pruned() -> bool:
        return not await OutboxEvent.exists().where(OutboxEvent.event_id == event["id"])

    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(settings_for(db.url, data_dir, COMMONS_NATS_URL=nats_server.url), stop))
    try:
        await wait_for_async(pruned, message="the relay to prune a 31-day-old published event")
    finally:
        stop.set()
        await asyncio.wait_for(relay, timeout=15)
