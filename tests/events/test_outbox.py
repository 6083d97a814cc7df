"""The outbox writer checks events against the catalogue, on both databases."""

from __future__ import annotations

import json

import pytest

from commons.db import write_transaction
from events.catalogue import InvalidEventData
from events.outbox import record_event
from events.tables import OutboxEvent

DATA = {"session_id": 1, "capacity": 10, "booked": 3, "places_left": 7}


async def test_the_envelope_names_its_schema_version(db):
    async with write_transaction(OutboxEvent._meta.db):
        event = await record_event("availability.changed", DATA)

    [row] = await OutboxEvent.select().where(OutboxEvent.event_id == event["id"])
    stored = json.loads(row["payload"])
    assert stored["dataschema"] == "urn:commons:event:availability.changed:v1"
    assert {"specversion", "id", "source", "type", "time", "datacontenttype", "data"} <= set(stored)
    assert stored["data"] == DATA and row["subject"] == "commons.availability.changed"


async def test_data_that_does_not_match_is_refused_and_nothing_is_written(db):
    before = await OutboxEvent.count()
    with pytest.raises(InvalidEventData, match="places_left"):
        async with write_transaction(OutboxEvent._meta.db):
            await record_event("availability.changed", {**DATA, "places_left": "7"})
    with pytest.raises(InvalidEventData, match="unknown event type"):
        async with write_transaction(OutboxEvent._meta.db):
            await record_event("booking.made", DATA)
    assert await OutboxEvent.count() == before
