"""What's on, piece by piece: its queries alone and its template alone, in this process, one at a time.

Beside the static-template ceiling (a whole HTTP request for a 266-byte page), these show what the
What's on page cannot do without: the three queries it needs (count, page of 20, venue list) and the
rendering of its 18 KB of HTML, before any framework, network or compression cost.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from booking.listings import list_venue_choices
from booking.search import SearchFilters, search_sessions
from commons.db import bind_tables, close_pool, engine_for, open_pool
from web.pages import LOCAL_ZONE, _filter_choices
from web.templating import template_config

REPEATS = 300


async def _per_call_ms(call: Callable[[], Awaitable[object]], repeats: int) -> tuple[float, float]:
    """Milliseconds per call: (elapsed, CPU of this process); for queries the gap is PostgreSQL's share."""
    await call()  # warm: pool connection, prepared statements, compiled query
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        await call()
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    return round(elapsed / repeats * 1000, 3), round(used / repeats * 1000, 3)


async def pieces(dsn: str, repeats: int = REPEATS) -> dict:
    engine = engine_for(dsn)
    bind_tables(engine)
    await open_pool(engine)
    try:
        now = datetime.now(UTC)
        filters = SearchFilters()

        async def queries() -> None:
            await search_sessions(filters, now)
            await list_venue_choices()

        query_ms, query_cpu_ms = await _per_call_ms(queries, repeats)
        results, venues = await search_sessions(filters, now), await list_venue_choices()
    finally:
        await close_pool(engine)
    template = template_config().to_engine().get_template("whats_on.html")
    context = {
        "filters": filters,
        "results": results,
        "errors": {},
        "form": {},
        "ticked": {},
        "venues": venues,
        "partial": False,
        "csrf_token": lambda: "0" * 64,
        "today": now.astimezone(LOCAL_ZONE).date(),
        **_filter_choices(),
    }
    page = template.render(**context)

    async def render() -> None:
        template.render(**context)

    async def compress() -> None:
        gzip.compress(page.encode(), compresslevel=6)

    render_ms, _ = await _per_call_ms(render, repeats)
    gzip_ms, _ = await _per_call_ms(compress, repeats)
    return {
        "sessions_on_page": len(results.sessions),
        "page_bytes": len(page.encode()),
        "queries_ms": query_ms,
        "queries_python_cpu_ms": query_cpu_ms,
        "render_ms": render_ms,
        "gzip_ms": gzip_ms,
    }
