"""Helpers for the notification tests: residents who take texts, events from the outbox, queued rows."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from booking.clock import Clock, SystemClock
from booking.validation import ResidentDetails
from commons.settings import Settings
from events.tables import OutboxEvent
from notifications.handlers import Notifier
from notifications.tables import Delivery, OutboundMessage
from tests.events.support import settings_for, unique_email

BASE_URL = "http://commons.test"


def notifier_settings(db, data_dir, **extra: str) -> Settings:
    return settings_for(db.url, data_dir, COMMONS_BASE_URL=BASE_URL, **extra)


def notifier_for(db, data_dir, clock: Clock | None = None, **extra: str) -> Notifier:
    return Notifier(notifier_settings(db, data_dir, **extra), clock=clock or SystemClock())


def twilio_url(fake) -> str:
    return f"twilio://{fake.account_sid}:{fake.auth_token}@%2B447700900999?base_url={fake.base_url}"


def notify_url(fake) -> str:
    return f"notify://{fake.api_key}?template_id={fake.template_id}&base_url={fake.base_url}"


def unique_phone() -> str:
    """A UK mobile number in E.164 that no other test uses."""
    return f"+447{uuid.uuid4().int % 10**9:09d}"


def texting(name: str = "Grace Hopper", *, phone: str | None = None) -> ResidentDetails:
    """A resident who gave a mobile number and ticked "text me"."""
    return ResidentDetails(name=name, email=unique_email(), phone=phone or unique_phone(), sms_opt_in=True)


async def outbox_event(event_type: str, **data: object) -> dict:
    """The newest recorded event of ``event_type`` whose data has these values."""
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == event_type).order_by(
        OutboxEvent.id, ascending=False
    )
    for row in rows:
        event = json.loads(row["payload"])
        if all(event["data"].get(key) == value for key, value in data.items()):
            return event
    raise AssertionError(f"no {event_type} event with {data}")


async def events_about(event_type: str, event_id: str) -> list[dict]:
    """The data of ``notification.*`` events recorded about the event ``event_id``."""
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == event_type).order_by(OutboxEvent.id)
    return [data for data in (json.loads(row["payload"])["data"] for row in rows) if data["event_id"] == event_id]


async def queued(event_id: str) -> dict[str, dict]:
    """The messages an event queued, by channel."""
    rows = await OutboundMessage.select().where(OutboundMessage.event_id == event_id)
    by_channel = {row["channel"]: row for row in rows}
    assert len(by_channel) == len(rows), f"more than one message per channel: {rows}"
    return by_channel


async def queued_to(address: str) -> list[dict]:
    return await OutboundMessage.select().where(OutboundMessage.recipient == address).order_by(OutboundMessage.id)


async def message(outbound_id: int) -> dict:
    return await OutboundMessage.select().where(OutboundMessage.id == outbound_id).first()


async def attempts(outbound_id: int) -> list[dict]:
    """The Delivery rows for one queued message, first attempt first."""
    return await Delivery.select().where(Delivery.outbound_message == outbound_id).order_by(Delivery.attempt)


def at(text: str) -> datetime:
    """An aware UTC instant from ISO 8601 text."""
    return datetime.fromisoformat(text)
