"""The dead-letter store: messages a consumer gave up on, kept for people to look at."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from commons.db import write_transaction
from events.tables import DeadLetter

MAX_ERROR_CHARS = 2000


async def record_dead_letter(
    *, consumer: str, event_id: str | None, subject: str, payload: str, error: str, deliveries: int
) -> None:
    async with write_transaction(DeadLetter._meta.db):
        await DeadLetter.insert(
            DeadLetter(
                consumer=consumer,
                event_id=event_id[:36] if event_id else None,
                subject=subject[:200],
                payload=payload,
                error=error[:MAX_ERROR_CHARS],
                deliveries=deliveries,
                created_at=datetime.now(timezone.utc),
            )
        )


async def list_dead_letters(limit: int = 100) -> list[dict[str, Any]]:
    """The newest dead letters first."""
    return await DeadLetter.select().order_by(DeadLetter.id, ascending=False).limit(limit)
