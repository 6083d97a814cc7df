"""Residents who give only a mobile number are unique by it; a resident's bookings are found by index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T15:49:52:000000"
VERSION = "1.38.0"
DESCRIPTION = "Unique phone for residents without e-mail; unique idempotency keys; index by resident"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="booking", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS resident_phone_without_email ON resident (phone) "
            "WHERE email IS NULL AND phone IS NOT NULL"
        )
        await RawTable.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS booking_idempotency_key ON booking (idempotency_key_hash) "
            "WHERE idempotency_key_hash IS NOT NULL"
        )
        await RawTable.raw("CREATE INDEX IF NOT EXISTS booking_resident_status ON booking (resident, status)")
        await RawTable.raw("CREATE INDEX IF NOT EXISTS waitlist_entry_resident ON waitlist_entry (resident)")
        await RawTable.raw("CREATE INDEX IF NOT EXISTS sign_in_link_resident ON sign_in_link (resident, created_at)")

    manager.add_raw(run)
    return manager
