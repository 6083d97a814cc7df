"""Texts kept in the database for ``/dev/mailbox`` when no SMS provider is configured."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from notifications.sms.base import SmsResult
from notifications.tables import DevMessage

PREVIEW_LENGTH = 60


class DevOutboxSms:
    """Writes the text as a ``DevMessage`` row; call inside the delivery's transaction."""

    transactional = True

    async def send(self, to_e164: str, body: str, *, reference: str) -> SmsResult:
        message_id = f"dev-{uuid.uuid4()}"
        await DevMessage.insert(
            DevMessage(
                channel="sms",
                recipient=to_e164,
                subject=preview(body),  # the mailbox lists messages by subject; a text has none
                text_body=body,
                message_id=message_id,
                created_at=datetime.now(UTC),
            )
        )
        return SmsResult(provider_message_id=message_id)


def preview(body: str, length: int = PREVIEW_LENGTH) -> str:
    line = " ".join(body.split())
    return line if len(line) <= length else line[: length - 1] + "…"
