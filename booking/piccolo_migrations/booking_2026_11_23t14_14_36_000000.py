"""Find residents by mobile number, for SMS replies (STOP)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T14:14:36:000000"
VERSION = "1.38.0"
DESCRIPTION = "Index residents by phone"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="booking", description=DESCRIPTION)

    async def run():
        await RawTable.raw("CREATE INDEX IF NOT EXISTS resident_phone ON resident (phone)")

    manager.add_raw(run)
    return manager
