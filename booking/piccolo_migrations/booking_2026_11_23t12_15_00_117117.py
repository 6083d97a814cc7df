"""Constraints Piccolo's auto migrations cannot express portably: partial unique indexes, checks."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-23T12:15:00:115663"
VERSION = "1.38.0"
DESCRIPTION = "Unique and check constraints for residents, bookings and sessions"

BOTH_ENGINES = [
    # One active booking per resident per session (residents are found by e-mail, else phone).
    "CREATE UNIQUE INDEX IF NOT EXISTS booking_one_active_per_resident "
    "ON booking (session, resident) WHERE status = 'confirmed'",
    "CREATE UNIQUE INDEX IF NOT EXISTS resident_email_unique ON resident (email) WHERE email IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS session_starts_at ON session (starts_at)",
    "CREATE INDEX IF NOT EXISTS booking_session ON booking (session)",
    "CREATE INDEX IF NOT EXISTS room_venue ON room (venue)",
    "CREATE INDEX IF NOT EXISTS booking_manage_token ON booking (manage_token_hash)",
    "CREATE INDEX IF NOT EXISTS booking_resident ON booking (resident)",
]

POSTGRES_ONLY = [
    # Defence in depth behind the conditional UPDATE (SQLite cannot add a CHECK to an existing table).
    "ALTER TABLE session ADD CONSTRAINT session_booked_within_capacity "
    "CHECK (booked >= 0 AND booked <= capacity)",
    "ALTER TABLE session ADD CONSTRAINT session_ends_after_start CHECK (ends_at > starts_at)",
    "ALTER TABLE booking ADD CONSTRAINT booking_party_size_positive CHECK (party_size > 0)",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="booking", description=DESCRIPTION)

    async def run():
        statements = list(BOTH_ENGINES)
        if isinstance(engine_finder(), PostgresEngine):
            statements += POSTGRES_ONLY
        for statement in statements:
            await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
