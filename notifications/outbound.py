"""Turn what an event means for each resident into queued messages, saved with the event's handling.

Everything an event calls for is rendered up front and inserted, in one transaction, with the
``ProcessedMessage`` row that marks the event handled; the sender loop only ever sends rows.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from commons.db import write_transaction
from events.tables import ProcessedMessage
from notifications.links import Links
from notifications.messages import message_id_for, render_email, render_sms
from notifications.quiet_hours import next_allowed_send_time
from notifications.recipients import Recipient
from notifications.states import Channel, MessageStatus, Template
from notifications.tables import OutboundMessage

#: which worker instance handled an event, to see work shared between instances
HANDLED_BY = f"{socket.gethostname()}:{os.getpid()}"[:100]


@dataclass(frozen=True)
class Notice:
    """One thing to tell one resident, before it becomes an e-mail, a text, or both."""

    template: Template
    recipient: Recipient
    context: dict[str, Any]
    time_zone: str  #: the venue's, for quiet hours
    booking_reference: str = ""
    #: the event tells many residents, so each e-mail's Message-ID names its resident
    one_of_many: bool = False
    #: asked for right now (a sign-in link): exactly this channel, whatever the resident's choices
    #: for news about bookings, no quiet hours and no unsubscribe link (it is neither marketing nor news)
    requested_channel: Channel | None = None


@dataclass(frozen=True)
class Plan:
    """What handling one event does."""

    notices: list[Notice] = field(default_factory=list)
    #: bookings whose reminders not yet sent are no longer wanted
    cancel_reminders_for: list[str] = field(default_factory=list)
    #: only reminders queued before this (a moved session: later ones already name the new time)
    cancel_reminders_queued_before: datetime | None = None
    #: a resident who erased their data: their unsent messages are withdrawn, and what they said is wiped
    withdraw_messages_of: int | None = None


def compose(
    notices: list[Notice], *, event_id: str, now: datetime, links: Links, sms_available: bool
) -> list[OutboundMessage]:
    """Every message the notices call for, one per address and channel (the queue's unique key)."""
    rows: list[OutboundMessage] = []
    seen: set[tuple[Channel, str]] = set()
    for notice in notices:
        for channel in _channels(notice, sms_available=sms_available):
            address = notice.recipient.address(channel)
            if (channel, address) in seen:
                continue  # two residents sharing a phone, or one both booked and waiting: told once
            seen.add((channel, address))
            rows.append(_row(notice, channel, address, event_id=event_id, now=now, links=links))
    return rows


def _channels(notice: Notice, *, sms_available: bool) -> list[Channel]:
    channel = notice.requested_channel
    if channel is None:
        return notice.recipient.channels(sms_available=sms_available)
    address = notice.recipient.email if channel is Channel.EMAIL else notice.recipient.phone
    if not address or (channel is Channel.SMS and not sms_available):
        return []  # only ever to the address on record; never a text without a provider
    return [channel]


def _row(
    notice: Notice, channel: Channel, address: str, *, event_id: str, now: datetime, links: Links
) -> OutboundMessage:
    who = notice.recipient
    context = {**notice.context, "name": who.name}
    row = OutboundMessage(
        event_id=event_id,
        channel=channel.value,
        template=notice.template.value,
        recipient=address,
        resident_id=who.resident_id,
        booking_reference=notice.booking_reference,
        status=MessageStatus.PENDING.value,
        created_at=now,
    )
    if channel is Channel.SMS:
        row.text_body = render_sms(notice.template.value, context)
        # Held until the morning at the venue; the first try is due then too, and the sender keeps every later
        # try out of the night there. A link asked for now goes now, and its retries too.
        immediate = notice.requested_channel is not None
        row.quiet_hours_zone = "" if immediate else notice.time_zone
        row.send_after = row.next_attempt_at = now if immediate else next_allowed_send_time(now, notice.time_zone)
        return row
    email = render_email(
        notice.template.value,
        context,
        to=address,
        message_id=message_id_for(event_id, notice.template.value, who.resident_id if notice.one_of_many else None),
        unsubscribe_url=""
        if notice.requested_channel is not None or who.resident_id is None
        else links.unsubscribe(who.resident_id),
    )
    row.subject, row.text_body, row.html_body = email.subject, email.text, email.html
    row.message_id, row.unsubscribe_url = email.message_id, email.unsubscribe_url
    row.send_after = row.next_attempt_at = now
    return row


async def already_handled(consumer: str, event_id: str) -> bool:
    return await ProcessedMessage.exists().where(
        (ProcessedMessage.consumer == consumer) & (ProcessedMessage.event_id == event_id)
    )


async def save(plan: Plan, rows: list[OutboundMessage], *, consumer: str, event_id: str, now: datetime) -> int:
    """Queue the messages, drop the reminders no longer wanted and mark the event handled, together;
    returns how many messages were queued.

    A message already queued for the same event, channel and address is left as it is: the event's
    messages go out once whichever consumer queued them. Raises a unique violation if another
    instance of this consumer handled the same event first.
    """
    inserted = []
    async with write_transaction(OutboundMessage._meta.db):
        if rows:
            inserted = await OutboundMessage.insert(*rows).on_conflict(action="DO NOTHING").returning(OutboundMessage.id)
        if plan.cancel_reminders_for:
            unsent = (
                OutboundMessage.booking_reference.is_in(plan.cancel_reminders_for)
                & (OutboundMessage.template == Template.REMINDER.value)
                & (OutboundMessage.status == MessageStatus.PENDING.value)
            )
            if plan.cancel_reminders_queued_before is not None:
                unsent &= OutboundMessage.created_at < plan.cancel_reminders_queued_before
            await OutboundMessage.update({OutboundMessage.status: MessageStatus.CANCELLED.value}).where(unsent)
        if plan.withdraw_messages_of is not None:
            await OutboundMessage.update(
                {
                    OutboundMessage.status: MessageStatus.CANCELLED.value,
                    OutboundMessage.recipient: "",
                    OutboundMessage.subject: "",
                    OutboundMessage.text_body: "",
                    OutboundMessage.html_body: "",
                }
            ).where(
                (OutboundMessage.resident_id == plan.withdraw_messages_of)
                & (OutboundMessage.status == MessageStatus.PENDING.value)
            )
        await ProcessedMessage.insert(
            ProcessedMessage(consumer=consumer, event_id=event_id, processed_at=now, handled_by=HANDLED_BY)
        )
    return len(inserted)
