"""Republish past events from the outbox, and prune published rows once their retention is over.

A replay republishes each row with its original ``Nats-Msg-Id``. JetStream drops a repeat only
inside its duplicate window (2 minutes), so what stops consumers doing the work twice is their own
``ProcessedMessage`` record, never the stream.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from nats.js import JetStreamContext

from commons.db import write_transaction
from events.tables import OutboxEvent

#: Published outbox rows are kept this long (``COMMONS_OUTBOX_RETENTION_DAYS``) so they can be replayed.
DEFAULT_RETENTION_DAYS = 30
PUBLISH_TIMEOUT = 5.0
_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def retention_period(environ: dict[str, str] | None = None) -> timedelta:
    raw = (os.environ if environ is None else environ).get("COMMONS_OUTBOX_RETENTION_DAYS", "").strip()
    if not raw:
        return timedelta(days=DEFAULT_RETENTION_DAYS)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"COMMONS_OUTBOX_RETENTION_DAYS must be a whole number of days (1 or more), not {raw!r}")
    return timedelta(days=int(raw))


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``2h``, ``30m``, ``1d`` ago, or an ISO 8601 time (read as UTC without an offset)."""
    now = now or datetime.now(timezone.utc)
    match = _RELATIVE.match(text)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time or a duration like 2h or 1d: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ReplayResult:
    republished: int  #: accepted by JetStream as new messages
    duplicates: int  #: dropped by JetStream: the original was published inside its duplicate window


async def replay_since(js: JetStreamContext, since: datetime) -> ReplayResult:
    """Republish, oldest first, every published outbox row created at or after ``since``.

    Unpublished rows are left to the relay, which publishes them in order anyway.
    """
    rows = (
        await OutboxEvent.select(OutboxEvent.event_id, OutboxEvent.subject, OutboxEvent.payload)
        .where((OutboxEvent.created_at >= since) & OutboxEvent.published_at.is_not_null())
        .order_by(OutboxEvent.id)
    )
    republished = duplicates = 0
    for row in rows:
        ack = await js.publish(
            row["subject"], row["payload"].encode(), timeout=PUBLISH_TIMEOUT, headers={"Nats-Msg-Id": row["event_id"]}
        )
        if ack.duplicate:
            duplicates += 1
        else:
            republished += 1
    return ReplayResult(republished, duplicates)


async def prune_published(older_than: timedelta | None = None, *, now: datetime | None = None) -> int:
    """Delete published outbox rows created more than ``older_than`` ago (default: the retention period)."""
    cutoff = (now or datetime.now(timezone.utc)) - (older_than if older_than is not None else retention_period())
    where = OutboxEvent.published_at.is_not_null() & (OutboxEvent.created_at < cutoff)
    async with write_transaction(OutboxEvent._meta.db):
        count = await OutboxEvent.count().where(where)
        await OutboxEvent.delete().where(where)
    return count
