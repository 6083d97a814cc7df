"""A resident saying "no more": an e-mail's unsubscribe link, or STOP in reply to a text.

Each takes effect at once: the resident's choice is recorded and the messages still waiting in the
queue for that address are cancelled. A message already being sent may still arrive.
"""

from __future__ import annotations

from datetime import datetime

from booking.tables import Resident
from commons.db import write_transaction
from notifications.states import Channel, MessageStatus
from notifications.tables import OutboundMessage


async def stop_emails(resident_id: int, now: datetime) -> bool:
    """No more e-mail to this resident; False if there is no such resident."""
    async with write_transaction(Resident._meta.db):
        found = await Resident.update(
            {Resident.contact_by_email: False, Resident.email_opted_out_at: now}
        ).where(Resident.id == resident_id).returning(Resident.id)
        if found:
            await _cancel_pending(
                (OutboundMessage.resident_id == resident_id) & (OutboundMessage.channel == Channel.EMAIL.value)
            )
    return bool(found)


async def stop_texts(phone_e164: str, now: datetime) -> int:
    """No more texts to this number, whoever gave it; returns how many residents had it."""
    async with write_transaction(Resident._meta.db):
        stopped = await Resident.update(
            {Resident.contact_by_sms: False, Resident.sms_consent_at: None, Resident.sms_opted_out_at: now}
        ).where(Resident.phone == phone_e164).returning(Resident.id)
        await _cancel_pending(
            (OutboundMessage.recipient == phone_e164) & (OutboundMessage.channel == Channel.SMS.value)
        )
    return len(stopped)


async def _cancel_pending(which) -> None:
    await OutboundMessage.update({OutboundMessage.status: MessageStatus.CANCELLED.value}).where(
        which & (OutboundMessage.status == MessageStatus.PENDING.value)
    )
