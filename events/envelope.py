"""CloudEvents 1.0 JSON envelopes for Commons domain events."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

SOURCE = "urn:commons:booking"
SUBJECT_PREFIX = "commons."
STREAM_NAME = "COMMONS"
STREAM_SUBJECTS = ["commons.>"]


def subject_for(event_type: str) -> str:
    return f"{SUBJECT_PREFIX}{event_type}"


def make_event(event_type: str, data: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """Build a CloudEvents 1.0 structured-mode envelope with a fresh uuid4 id."""
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "time": when.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


REQUIRED = ("specversion", "id", "source", "type", "time", "datacontenttype", "data")


class MalformedEvent(ValueError):
    pass


def decode(raw: bytes) -> dict[str, Any]:
    """Parse and check an envelope; raises ``MalformedEvent`` for anything that is not one of ours."""
    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from exc
    if not isinstance(event, dict) or any(key not in event for key in REQUIRED):
        raise MalformedEvent("missing CloudEvents attributes")
    if event["specversion"] != "1.0" or not isinstance(event["data"], dict):
        raise MalformedEvent("unsupported CloudEvents envelope")
    return event
