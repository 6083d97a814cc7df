"""Assemble the Litestar application: plugins, security, controllers and the database lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router

from commons.db import bind_tables, close_pool, engine_for, open_pool
from commons.settings import Settings, get_settings
from web.account import AccountController
from web.api import api_router
from web.api_referrals import OPENAPI_COMPONENTS, referrals_api_router
from web.bookings import BookingController
from web.devmail import DevMailboxController
from web.errors import EXCEPTION_HANDLERS
from web.health import HealthController
from web.listing_cache import GZIP_LEVEL, forget_after_writes, listing_cache_lifespan
from web.live import SKIP_COMPRESSION, LivePlacesController, live_places_lifespan
from web.manage import ManageController
from web.offers import OfferController
from web.openactive import OpenActiveController
from web.pages import PagesController
from web.privacy import InformationController, YourDataController
from web.referrals import ReferralConfirmController
from web.security import (
    RATE_LIMIT_STORE,
    SESSION_STORE,
    add_security_headers,
    booking_rate_limit,
    csrf_config,
    session_config,
)
from web.session_store import rate_limit_store, session_store
from web.sms_webhooks import SmsWebhookController
from web.staff import staff_router
from web.templating import template_config
from web.unsubscribe import UnsubscribeController
from web.waitlist import WaitlistController

STATIC_DIR = Path(__file__).parent / "static"


def _database_lifespan(settings: Settings):
    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        engine = engine_for(settings.database_url)
        bind_tables(engine)
        await open_pool(engine)
        await app.stores.get(SESSION_STORE).delete_expired()
        try:
            yield
        finally:
            await close_pool(engine)

    return database


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    route_handlers = [
        PagesController,
        # Only booking and a signed-in resident's pages need to remember anything per browser, so only they get a session.
        Router(
            path="/",
            route_handlers=[
                BookingController,
                WaitlistController,
                OfferController,
                ReferralConfirmController,
                ManageController,
                AccountController,
                YourDataController,
            ],
            middleware=[session_config(settings).middleware],
        ),
        staff_router(settings, SESSION_STORE),
        InformationController,
        UnsubscribeController,
        SmsWebhookController,
        HealthController,
        LivePlacesController,
        OpenActiveController,
        api_router,
        referrals_api_router,
        create_static_files_router(path="/static", directories=[STATIC_DIR]),
    ]
    if settings.dev_mailbox_enabled:
        route_handlers.append(DevMailboxController)
    return Litestar(
        route_handlers=route_handlers,
        # Entered in order, left in reverse: the live streams end before the database pool closes.
        lifespan=[_database_lifespan(settings), listing_cache_lifespan(settings), live_places_lifespan(settings)],
        state=State({"settings": settings}),
        plugins=[HTMXPlugin()],
        template_config=template_config(),
        csrf_config=csrf_config(settings),
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=500,
            gzip_compress_level=GZIP_LEVEL,
            exclude_opt_key=SKIP_COMPRESSION,
        ),
        stores={SESSION_STORE: session_store(settings), RATE_LIMIT_STORE: rate_limit_store(settings)},
        middleware=[booking_rate_limit(settings).middleware],
        before_send=[add_security_headers, forget_after_writes],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Commons API",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=OPENAPI_COMPONENTS,  # the referrals API's bearer scheme
        ),
        debug=False,
    )
