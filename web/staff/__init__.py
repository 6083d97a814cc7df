"""The staff console under /staff: one router, one session cookie, one guard in front of every route."""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from commons.settings import Settings
from web.staff.access import current_staff, staff_guard
from web.staff.activities import ActivitiesController
from web.staff.api_keys import ApiKeysController
from web.staff.audit import AuditLogController
from web.staff.auth import StaffAuthController
from web.staff.dashboard import DashboardController
from web.staff.partners import PartnersController
from web.staff.people import StaffPeopleController
from web.staff.programme import ProgrammeController
from web.staff.referrals import ReferralsController
from web.staff.register import RegisterController
from web.staff.reports import ReportsController
from web.staff.session import staff_session_config
from web.staff.sessions import SessionsController
from web.staff.venues import RoomsController, VenuesController

#: Every staff controller. Each route handler declares ``opt=staff_rule(...)`` or ``PUBLIC_STAFF_PAGE``.
STAFF_CONTROLLERS: list = [StaffAuthController, DashboardController, ReportsController, AuditLogController, StaffPeopleController, VenuesController, RoomsController, ActivitiesController, PartnersController, RegisterController, ProgrammeController, SessionsController, ReferralsController, ApiKeysController]


def staff_router(settings: Settings, store: str) -> Router:
    return Router(
        path="/staff",
        route_handlers=STAFF_CONTROLLERS,
        middleware=[staff_session_config(settings, store).middleware],
        guards=[staff_guard],
        dependencies={"staff": Provide(current_staff, sync_to_thread=False)},
        cache_control=CacheControlHeader(no_store=True),
        include_in_schema=False,  # pages for people, not the JSON API  # staff pages show personal data: never cached
    )
