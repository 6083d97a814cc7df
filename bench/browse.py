"""Browse: the What's on page and one session page under the same concurrency as the rush.

What's on twice: the page everyone lands on (kept between changes, web/listing_cache.py), and a new
search on every request, so each one runs its queries and renders (what a change costs, or a rare search).
"""

from __future__ import annotations

from bench.ceilings import http_load


async def browse(base_url: str, session_id: int, concurrency: int, seconds: float) -> dict[str, dict]:
    return {
        "whats_on": await http_load(f"{base_url}/whats-on", concurrency, seconds),
        "whats_on_new_search": await http_load(f"{base_url}/whats-on", concurrency, seconds, new_search=True),
        "session_page": await http_load(f"{base_url}/sessions/{session_id}", concurrency, seconds),
    }
