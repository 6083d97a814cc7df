"""Liveness and readiness probes for the process manager and load balancer."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import asyncpg
import nats
from litestar import Controller, Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from nats.errors import Error as NatsError

from booking.tables import Session
from commons.settings import Settings

logger = logging.getLogger(__name__)

NATS_TIMEOUT = 1.0
DATABASE_ERRORS = (OSError, asyncio.TimeoutError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)


async def database_ready() -> bool:
    try:
        await asyncio.wait_for(Session.raw("SELECT 1"), timeout=2)
    except DATABASE_ERRORS:
        logger.warning("Readiness: the database did not answer", exc_info=True)
        return False
    return True


async def nats_ready(url: str | None) -> bool:
    if url is None:
        return False  # the web process never starts its own nats-server
    try:
        client = await asyncio.wait_for(
            nats.connect(
                url,
                connect_timeout=NATS_TIMEOUT,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                error_cb=_quiet,
            ),
            timeout=NATS_TIMEOUT * 2,
        )
    except (TimeoutError, OSError, NatsError):
        logger.warning("Readiness: NATS at %s is unreachable", url, exc_info=True)
        return False
    try:
        await client.flush(timeout=NATS_TIMEOUT)
    except (TimeoutError, OSError, NatsError):
        logger.warning("Readiness: NATS at %s did not answer a flush", url, exc_info=True)
        return False
    finally:
        await client.close()
    return True


async def _quiet(error: Exception) -> None:
    """Connection failures are reported once by nats_ready, not again by the client's own logger."""


class HealthController(Controller):
    include_in_schema = False

    @get("/healthz", cache_control=None)
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz")
    async def readyz(self, request: Request) -> Response[dict[str, str]]:
        settings: Settings = request.app.state.settings
        db_ok, nats_ok = await asyncio.gather(database_ready(), nats_ready(settings.nats_url))
        body = {"database": "ok" if db_ok else "unavailable", "nats": "ok" if nats_ok else "unavailable"}
        status = HTTP_200_OK if db_ok and nats_ok else HTTP_503_SERVICE_UNAVAILABLE
        return Response(body, status_code=status)
