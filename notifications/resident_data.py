"""What the notification side holds about one resident, for their "Your data" download. Read only."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from notifications.tables import OutboundMessage


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


async def messages_for_resident(resident_id: int) -> list[dict[str, Any]]:
    """Every message queued for the resident, oldest first: what, how, to where, and what became of it.

    Bodies are left out: they repeat the booking details the download already has, plus links that
    must not outlive the message.
    """
    rows = await (
        OutboundMessage.select(
            OutboundMessage.template,
            OutboundMessage.channel,
            OutboundMessage.recipient,
            OutboundMessage.booking_reference,
            OutboundMessage.subject,
            OutboundMessage.status,
            OutboundMessage.created_at,
            OutboundMessage.sent_at,
        )
        .where(OutboundMessage.resident_id == resident_id)
        .order_by(OutboundMessage.created_at)
        .order_by(OutboundMessage.id)
    )
    return [
        {
            "template": row["template"],
            "channel": row["channel"],
            "address": row["recipient"],
            "booking_reference": row["booking_reference"],
            "subject": row["subject"],
            "status": row["status"],
            "queued_at": _iso(row["created_at"]),
            "sent_at": _iso(row["sent_at"]),
        }
        for row in rows
    ]
