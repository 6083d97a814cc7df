"""What's on hears of every change to what it shows (web/listing_cache.py).

On PostgreSQL a statement trigger on each table the page reads runs ``pg_notify('commons_listings', '')``;
PostgreSQL delivers it to every listening web process when the writing transaction commits (never for a
rolled-back one) and folds repeats within one transaction into one. SQLite has no notifications, so
there the page is never kept and this migration does nothing.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-30T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Notify commons_listings on any change to session, activity, room, venue or partner"

TABLES = ("session", "activity", "room", "venue", "partner")

POSTGRES_ONLY = [
    "CREATE OR REPLACE FUNCTION commons_listings_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN PERFORM pg_notify('commons_listings', ''); RETURN NULL; END $$",
]
for table in TABLES:
    POSTGRES_ONLY += [
        f'DROP TRIGGER IF EXISTS commons_listings_changed ON "{table}"',
        f'CREATE TRIGGER commons_listings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION commons_listings_changed()",
    ]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="booking", description=DESCRIPTION)

    async def run():
        if isinstance(engine_finder(), PostgresEngine):
            for statement in POSTGRES_ONLY:
                await RawTable.raw(statement)

    manager.add_raw(run)
    return manager
