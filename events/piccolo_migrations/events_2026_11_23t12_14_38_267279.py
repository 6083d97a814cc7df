"""Indexes for the outbox relay and the exactly-once guard on consumers."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T12:14:38:267279"
VERSION = "1.38.0"
DESCRIPTION = "Processed-message uniqueness and the unpublished-outbox index"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS processed_message_consumer_event "
    "ON processed_message (consumer, event_id)",
    "CREATE INDEX IF NOT EXISTS outbox_event_unpublished ON outbox_event (id) WHERE published_at IS NULL",
    "CREATE INDEX IF NOT EXISTS outbox_event_created_at ON outbox_event (created_at)",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="events", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
