"""Helpers shared by the event, notification and end-to-end tests."""

from __future__ import annotations

import json
import uuid

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from booking.service import book_place
from booking.validation import ResidentDetails
from commons.settings import Settings, load_settings
from events.envelope import STREAM_NAME
from tests.builders import make_session


def settings_for(database_url: str, data_dir, **extra: str) -> Settings:
    env = {"COMMONS_ENV": "test", "COMMONS_DATA_DIR": str(data_dir), "COMMONS_DATABASE_URL": database_url}
    env.update(extra)
    return load_settings(env)


def unique_email() -> str:
    return f"resident-{uuid.uuid4().hex[:10]}@example.org"


async def book_one(email: str | None = None, party_size: int = 2, **session_args):
    """A fresh session and one confirmed booking on it; returns (session, confirmation)."""
    session = await make_session(**session_args)
    confirmation = await book_place(
        session.id, ResidentDetails(name="Ada Lovelace", email=email or unique_email()), party_size
    )
    return session, confirmation


async def stream_messages(js: JetStreamContext, *, msg_id: str | None = None, booking_id: int | None = None) -> list:
    """Every message on COMMONS with the given Nats-Msg-Id, or about the given booking."""
    info = await js.stream_info(STREAM_NAME)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(STREAM_NAME, seq)
        except NotFoundError:
            continue  # deleted or purged
        if msg_id is not None and (msg.headers or {}).get("Nats-Msg-Id") != msg_id:
            continue
        if booking_id is not None and json.loads(msg.data)["data"].get("booking_id") != booking_id:
            continue
        found.append(msg)
    return found


def body_of(message, subtype: str = "plain") -> str:
    """The decoded text/<subtype> part of a message the test SMTP server received."""
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")
