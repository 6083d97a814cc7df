"""Write domain events to the outbox inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from commons.db import is_sqlite
from events.catalogue import InvalidEventData, validate
from events.envelope import encode, make_event, subject_for
from events.tables import OutboxEvent

NOTIFY_CHANNEL = "commons_outbox"

__all__ = ["NOTIFY_CHANNEL", "InvalidEventData", "record_event"]


async def record_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Add an event to the outbox. Call inside the use case's transaction so both commit or neither.

    Raises ``InvalidEventData`` for an unknown type or data that does not match the catalogue.
    """
    spec = validate(event_type, data)
    event = make_event(event_type, data)
    event["dataschema"] = spec.dataschema
    await OutboxEvent.insert(
        OutboxEvent(
            event_id=event["id"],
            type=event_type,
            subject=subject_for(event_type),
            payload=encode(event).decode(),
            created_at=datetime.now(timezone.utc),
        )
    )
    if not is_sqlite(OutboxEvent._meta.db):
        # Delivered to the relay's LISTEN at commit, never for a rolled-back transaction.
        await OutboxEvent.raw(f"NOTIFY {NOTIFY_CHANNEL}")
    return event
