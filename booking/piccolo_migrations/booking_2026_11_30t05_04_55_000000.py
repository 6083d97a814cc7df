"""A room never holds two scheduled sessions at overlapping times; indexes for staff pages and the audit log.

PostgreSQL enforces the room rule itself: a trigger keeps ``session.room_busy`` (a tstzrange from the
start less the set-up buffer to the end plus the clear-down buffer) and an exclusion constraint refuses
a second scheduled session whose range overlaps in the same room. SQLite has no exclusion constraints;
``booking/clashes.py`` checks inside the write transaction (one writer at a time there).

Sessions that already overlap in an older database are left as they are (their ``room_busy`` stays
NULL, which clashes with nothing) so the migration always runs; moving one later checks it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

ID = "2026-11-30T05:04:55:000000"
VERSION = "1.38.0"
DESCRIPTION = "Room clash exclusion constraint; staff venue pairs; audit and programme indexes"

BOTH_ENGINES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS staff_venue_pair ON staff_venue (staff_member, venue)",
    "CREATE INDEX IF NOT EXISTS staff_venue_venue ON staff_venue (venue)",
    "CREATE INDEX IF NOT EXISTS staff_link_member ON staff_link (staff_member, created_at)",
    "CREATE INDEX IF NOT EXISTS session_room_starts_at ON session (room, starts_at)",
    "CREATE INDEX IF NOT EXISTS session_series ON session (series)",
    "CREATE INDEX IF NOT EXISTS audit_entry_created_at ON audit_entry (created_at)",
    "CREATE INDEX IF NOT EXISTS audit_entry_resident ON audit_entry (resident)",
    "CREATE INDEX IF NOT EXISTS audit_entry_staff_member ON audit_entry (staff_member, created_at)",
]

ROOM_BUSY = (
    "tstzrange({row}.starts_at - make_interval(mins => {row}.setup_minutes), "
    "{row}.ends_at + make_interval(mins => {row}.cleardown_minutes), '[)')"
)

POSTGRES_ONLY = [
    "ALTER TABLE session ADD COLUMN IF NOT EXISTS room_busy tstzrange",
    "CREATE OR REPLACE FUNCTION session_room_busy() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN NEW.room_busy := {ROOM_BUSY.format(row='NEW')}; RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS session_room_busy ON session",
    "CREATE TRIGGER session_room_busy BEFORE INSERT OR UPDATE OF starts_at, ends_at, setup_minutes, cleardown_minutes "
    "ON session FOR EACH ROW EXECUTE FUNCTION session_room_busy()",
    # Existing sessions: every one that overlaps no earlier scheduled session in its room.
    f"UPDATE session s SET room_busy = {ROOM_BUSY.format(row='s')} WHERE s.status <> 'scheduled' OR NOT EXISTS ("
    "SELECT 1 FROM session o WHERE o.room = s.room AND o.status = 'scheduled' AND o.id < s.id "
    "AND o.starts_at < s.ends_at AND s.starts_at < o.ends_at)",
    "ALTER TABLE session ADD CONSTRAINT session_room_free EXCLUDE USING gist "
    "(int4range(room, room, '[]') WITH &&, room_busy WITH &&) WHERE (status = 'scheduled')",
    "ALTER TABLE series ADD CONSTRAINT series_positive CHECK (duration_minutes > 0 AND capacity > 0)",
    "ALTER TABLE session ADD CONSTRAINT session_buffers_not_negative CHECK (setup_minutes >= 0 AND cleardown_minutes >= 0)",
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
