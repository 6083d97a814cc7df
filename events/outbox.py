"""Write domain events to the outbox inside the caller's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from commons.compiled import Bind, CompiledQuery, compiled
from commons.db import is_sqlite
from events.catalogue import InvalidEventData, validate
from events.envelope import encode, make_event, subject_for
from events.tables import OutboxEvent

NOTIFY_CHANNEL = "commons_outbox"

__all__ = ["NOTIFY_CHANNEL", "InvalidEventData", "record_event"]


_EVENT_FIELDS = ("event_id", "type", "subject", "payload", "created_at")


def _build_insert():
    return OutboxEvent.insert(OutboxEvent(**{name: Bind(name) for name in _EVENT_FIELDS}))


def _insert_query() -> CompiledQuery:
    """The outbox INSERT, compiled once; on PostgreSQL it also notifies the relay, in the same round trip.

    pg_notify, like NOTIFY, is delivered to the relay's LISTEN at commit, never for a rolled-back transaction.
    """
    insert = compiled(OutboxEvent, "outbox.insert", _build_insert)
    if is_sqlite(OutboxEvent._meta.db):
        return insert
    return compiled(OutboxEvent, "outbox.insert_and_notify", lambda: _with_notify(insert))


def _with_notify(insert: CompiledQuery) -> CompiledQuery:
    template = f"WITH added AS ({insert.template}) SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM added"
    return replace(insert, template=template)


async def record_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Add an event to the outbox. Call inside the use case's transaction so both commit or neither.

    Raises ``InvalidEventData`` for an unknown type or data that does not match the catalogue.
    """
    spec = validate(event_type, data)
    event = make_event(event_type, data)
    event["dataschema"] = spec.dataschema
    await _insert_query().run(
        {
            "event_id": event["id"],
            "type": event_type,
            "subject": subject_for(event_type),
            "payload": encode(event).decode(),
            "created_at": datetime.now(timezone.utc),
        }
    )
    return event
