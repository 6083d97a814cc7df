"""Browse: the What's on page and one session page under the same concurrency as the rush.

What's on three ways: the page everyone lands on (kept between changes, web/listing_cache.py); a new
search on every request, so each one runs its queries and renders (what a change costs, or a rare
search); and the page everyone lands on while the sessions it lists change 10 or 100 times a second, each
change forgetting every kept page in every web process, as bookings do.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bench.ceilings import http_load

CHANGE_RATES = (10, 100)  #: session changes per second during "What's on while bookings are made"


async def browse(base_url: str, session_id: int, concurrency: int, seconds: float) -> dict[str, dict]:
    return {
        "whats_on": await http_load(f"{base_url}/whats-on", concurrency, seconds),
        "whats_on_new_search": await http_load(f"{base_url}/whats-on", concurrency, seconds, new_search=True),
        "session_page": await http_load(f"{base_url}/sessions/{session_id}", concurrency, seconds),
    }


async def whats_on_while_changing(
    base_url: str, dsn: str, session_id: int, rate: int, concurrency: int, seconds: float
) -> dict:
    """GET /whats-on while a session on it changes ``rate`` times a second (open loop, on schedule)."""
    stop = asyncio.Event()
    changes = asyncio.ensure_future(_change(dsn, session_id, rate, stop))
    try:
        figures = await http_load(f"{base_url}/whats-on", concurrency, seconds)
    finally:
        stop.set()
        made, elapsed = await changes
    figures["changes_per_second"] = round(made / elapsed, 1)
    figures["note"] = f"{figures['changes_per_second']} changes/s"
    return figures


async def _change(dsn: str, session_id: int, rate: int, stop: asyncio.Event) -> tuple[int, float]:
    """Touch the session ``rate`` times a second until ``stop``: each commit fires the listings trigger."""
    conn = await asyncpg.connect(dsn)
    made, began = 0, time.perf_counter()
    try:
        while not stop.is_set():
            await conn.execute("UPDATE session SET updated_at = now() WHERE id = $1", session_id)
            made += 1
            wait = began + made / rate - time.perf_counter()
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)  # the schedule, or the end of the load
                except TimeoutError:
                    pass
    finally:
        await conn.close()
    return made, time.perf_counter() - began
