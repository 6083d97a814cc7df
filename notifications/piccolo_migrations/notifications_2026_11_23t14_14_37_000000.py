"""Indexes for the notification queue and the once-only guard on reminders."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T14:14:37:000000"
VERSION = "1.38.0"
DESCRIPTION = "Notification queue indexes; one reminder of each kind per booking"

STATEMENTS = [
    # An event queues at most one message per channel per recipient, however often it is redelivered.
    "CREATE UNIQUE INDEX IF NOT EXISTS outbound_message_once ON outbound_message (event_id, channel, recipient)",
    # What the sender loop looks for: due pending rows, and sending rows whose lease ran out.
    "CREATE INDEX IF NOT EXISTS outbound_message_due ON outbound_message (status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS outbound_message_recipient ON outbound_message (recipient, status)",
    "CREATE INDEX IF NOT EXISTS outbound_message_booking ON outbound_message (booking_reference, status)",
    "CREATE UNIQUE INDEX IF NOT EXISTS scheduled_reminder_once ON scheduled_reminder (booking_id, reminder)",
    "CREATE INDEX IF NOT EXISTS delivery_outbound_message ON delivery (outbound_message)",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
