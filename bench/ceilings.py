"""Ceilings: what this machine does with no Commons code in the way.

(a) The booking transaction alone, through asyncpg: the conditional UPDATE, the booking INSERT and the
outbox INSERT in one transaction, with a pool as big as the app's. (b) Requests to the static-template
app (``bench/static_app.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg

from bench.report import summary
from bench.servers import HttpClient, http_client

APP_POOL_SIZE = 10  #: commons.db.open_pool's max_size
TAKE_PLACE = (
    "UPDATE session SET booked = booked + 1 "
    "WHERE id = $1 AND status = 'scheduled' AND booked + held + 1 <= capacity "
    "RETURNING id, booked, held, capacity"
)
INSERT_BOOKING = (
    "INSERT INTO booking (reference, session, resident, party_size, status, source, manage_token_hash, "
    "created_at, cancel_reason, support_note, consent_source, attendance) "
    "VALUES ($1, $2, $3, 1, 'confirmed', 'online', $4, $5, '', '', 'online', 'unmarked') RETURNING id"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox_event (event_id, type, subject, payload, created_at, attempts, last_error) "
    "VALUES ($1, 'booking.confirmed', 'commons.booking.confirmed', $2, $3, 0, '')"
)


async def _book(pool: asyncpg.Pool, session_id: int, resident_id: int) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(TAKE_PLACE, session_id)
        if row is None:
            return False
        now = datetime.now(UTC)
        booking_id = await conn.fetchval(
            INSERT_BOOKING, secrets.token_hex(4)[:8].upper(), session_id, resident_id, secrets.token_hex(32), now
        )
        event_id = str(uuid.uuid4())
        payload = json.dumps({"id": event_id, "data": {"booking_id": booking_id, "session_id": session_id}})
        await conn.execute(INSERT_OUTBOX, event_id, payload, now)
        return True


async def raw_transaction(
    dsn: str, session_id: int, residents: Iterator[int], concurrency: int, seconds: float
) -> dict:
    """Transactions per second with ``concurrency`` clients sharing the pool, each booking in a loop.

    The session is big enough never to fill, so every transaction is a full booking (the dearer decision);
    each takes the next pre-made resident, as one resident may hold one booking of a session.
    """
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=APP_POOL_SIZE)
    latencies: list[float] = []
    try:
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                if not await _book(pool, session_id, next(residents)):
                    raise RuntimeError("the ceiling session filled up: make it bigger")
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return summary(latencies, time.perf_counter() - began)
    finally:
        await pool.close()


async def http_load(url: str, concurrency: int, seconds: float, new_search: bool = False) -> dict:
    """Requests per second for GETs of ``url``: ``concurrency`` clients, each with its own connection.

    ``new_search``: every request adds a query parameter no request has sent before (``_=<n>``, which the
    app ignores), so no page the server keeps (web/listing_cache.py) ever answers one.
    """
    latencies: list[float] = []
    errors = 0
    clients = [http_client() for _ in range(concurrency)]
    numbers = itertools.count()
    joiner = "&" if "?" in url else "?"

    async def load(http: HttpClient, deadline: float) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            response = await http.get(f"{url}{joiner}_={next(numbers)}" if new_search else url)
            if response.status_code != 200:
                errors += 1
                continue
            latencies.append(time.perf_counter() - start)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(load(http, began + seconds) for http in clients))
        figures = summary(latencies, time.perf_counter() - began)
    finally:
        for http in clients:
            await http.aclose()
    figures["errors"] = errors
    if errors:
        figures["note"] = f"{errors} errors"
    return figures
