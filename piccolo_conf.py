"""Piccolo configuration: the engine comes from COMMONS_DATABASE_URL (see commons.settings)."""

from piccolo.conf.apps import AppRegistry

from commons.db import engine_for
from commons.settings import get_settings

DB = engine_for(get_settings().database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "booking.piccolo_app",
        "events.piccolo_app",
        "notifications.piccolo_app",
    ]
)
