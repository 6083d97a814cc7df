"""Waiting-list constraints Piccolo's auto migrations cannot express portably: partial unique indexes, checks."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-23T13:27:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "Waiting-list indexes; held places within capacity"

BOTH_ENGINES = [
    # One place in the queue per resident per session.
    "CREATE UNIQUE INDEX IF NOT EXISTS waitlist_entry_one_active_per_resident "
    "ON waitlist_entry (session, resident) WHERE status IN ('waiting', 'offered')",
    "CREATE INDEX IF NOT EXISTS waitlist_entry_queue ON waitlist_entry (session, status, created_at, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS waitlist_offer_token ON waitlist_offer (token_hash)",
    "CREATE INDEX IF NOT EXISTS waitlist_offer_open_expiry ON waitlist_offer (status, expires_at)",
    "CREATE INDEX IF NOT EXISTS waitlist_offer_entry ON waitlist_offer (entry)",
]

POSTGRES_ONLY = [
    # Defence in depth behind the conditional UPDATEs (SQLite cannot add a CHECK to an existing table).
    "ALTER TABLE session ADD CONSTRAINT session_held_within_capacity "
    "CHECK (held >= 0 AND booked + held <= capacity)",
    "ALTER TABLE waitlist_entry ADD CONSTRAINT waitlist_entry_party_size_positive CHECK (party_size > 0)",
    "ALTER TABLE waitlist_offer ADD CONSTRAINT waitlist_offer_party_size_positive CHECK (party_size > 0)",
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
