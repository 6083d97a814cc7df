"""The venue time zone on each queued text, so quiet hours hold its retries and late claims too."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T10:32:20:950474"
VERSION = "1.38.0"
DESCRIPTION = "Quiet hours time zone on queued texts"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="notifications", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="OutboundMessage",
        tablename="outbound_message",
        column_name="quiet_hours_zone",
        db_column_name="quiet_hours_zone",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
