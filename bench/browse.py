"""Browse: the What's on page and one session page under the same concurrency as the rush."""

from __future__ import annotations

from bench.ceilings import http_load


async def browse(base_url: str, session_id: int, concurrency: int, seconds: float) -> dict[str, dict]:
    return {
        "whats_on": await http_load(f"{base_url}/whats-on", concurrency, seconds),
        "session_page": await http_load(f"{base_url}/sessions/{session_id}", concurrency, seconds),
    }
