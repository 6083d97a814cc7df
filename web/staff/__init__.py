"""The staff console under /staff: one router, one session cookie, one guard in front of every route."""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from commons.settings import Settings
from web.staff.access import current_staff, staff_guard
from web.staff.auth import StaffAuthController
from web.staff.session import staff_session_config

#: Every staff controller. Each route handler declares ``opt=staff_rule(...)`` or ``PUBLIC_STAFF_PAGE``.
STAFF_CONTROLLERS: list = [StaffAuthController]


def staff_router(settings: Settings, store: str) -> Router:
    return Router(
        path="/staff",
        route_handlers=STAFF_CONTROLLERS,
        middleware=[staff_session_config(settings, store).middleware],
        guards=[staff_guard],
        dependencies={"staff": Provide(current_staff, sync_to_thread=False)},
        cache_control=CacheControlHeader(no_store=True),  # staff pages show personal data: never cached
    )
