"""`commons serve --workers 2`: two web processes on one port, sharing sessions and hearing each other's changes; restarted if one dies.

Which process accepts a connection is the kernel's choice, so the test stops one process (SIGSTOP) to
make the other serve, then swaps: a booking begun in one process is confirmed in the other.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.builders import make_room, make_session, make_venue
from tests.e2e.conftest import wait_until_healthy
from tests.support.services import commons_env, free_port, run_migrations, wait_for, wait_for_async
from tests.web.conftest import check_answers, confirm_answers

pytestmark = pytest.mark.e2e


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def fresh_connection_client(base_url: str, cookies: httpx.Cookies) -> httpx.AsyncClient:
    """A browser that opens a new connection for every request, so the kernel picks a process each time."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits, cookies=cookies)


def two_web_processes(database_url: str, data_dir, commons_processes, **extra: str):
    """``commons serve --workers 2`` on a free port, healthy: (base URL, the server, its two processes)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = commons_env(database_url, data_dir, COMMONS_BASE_URL=base_url, **extra)
    run_migrations(database_url, data_dir)
    web = commons_processes("serve", "--port", str(port), "--workers", "2", env=env)
    wait_until_healthy(base_url, web)
    first, second = sorted(
        wait_for(
            lambda: len(children_of(web.process.pid)) == 2 and children_of(web.process.pid),
            timeout=20,
            message="two web processes",
        )
    )
    return base_url, web, first, second


async def test_two_web_processes_share_the_port_sessions_and_bookings(db, data_dir, commons_processes):
    base_url, web, first, second = two_web_processes(db.url, data_dir, commons_processes)
    session = await make_session(capacity=5)

    cookies = httpx.Cookies()
    os.kill(second, signal.SIGSTOP)  # the first process alone answers the form and check-your-answers
    try:
        async with fresh_connection_client(base_url, cookies) as browser:
            checked = await check_answers(browser, session.id, email="two.processes@example.org")
            assert "/book/confirm" in checked.text, checked.text
            cookies = browser.cookies
    finally:
        os.kill(second, signal.SIGCONT)
    os.kill(first, signal.SIGSTOP)  # the second alone: same session (cookie, CSRF), other process
    try:
        async with fresh_connection_client(base_url, cookies) as browser:
            done = await confirm_answers(browser, session.id, checked.text)
            assert done.status_code == 303, done.text
            confirmation = await browser.get(done.headers["location"])
            assert confirmation.status_code == 200 and "two.processes@example.org" in confirmation.text
    finally:
        os.kill(first, signal.SIGCONT)

    os.kill(first, signal.SIGKILL)  # a process that dies is started again
    replaced = wait_for(
        lambda: (kids := children_of(web.process.pid)) and len(kids) == 2 and first not in kids and kids,
        timeout=20,
        message="the killed web process replaced",
    )
    assert second in replaced
    wait_until_healthy(base_url, web)

    assert web.signal(signal.SIGTERM) == 0, web.log
    assert not children_of(web.process.pid) and all(not Path(f"/proc/{pid}").exists() for pid in replaced)


async def _page(base_url: str, path: str) -> str:
    async with fresh_connection_client(base_url, httpx.Cookies()) as browser:
        response = await browser.get(path)
        assert response.status_code == 200, response.text
        return response.text


async def test_a_booking_in_one_web_process_reaches_the_pages_the_other_keeps(pg_engine, data_dir, commons_processes):
    """Each process keeps What's on (web/listing_cache.py) for an hour here, so only PostgreSQL's notification
    can tell the one that did not take the booking."""
    base_url, web, first, second = two_web_processes(
        pg_engine.url, data_dir, commons_processes, COMMONS_LISTING_CACHE_SECONDS="3600"
    )
    wait_for(
        lambda: web.log.count("shared pages: listening for changes") >= 2,
        timeout=20,
        message="both processes listening",
    )
    venue = await make_venue()
    session = await make_session(capacity=5, room=await make_room(venue=venue))
    path = f"/whats-on?venue={venue.slug}"

    async def in_process(stopped: int, step):
        os.kill(stopped, signal.SIGSTOP)
        try:
            return await step()
        finally:
            os.kill(stopped, signal.SIGCONT)

    for stopped in (second, first):
        assert "5 places left" in await in_process(stopped, lambda: _page(base_url, path))
    # A change PostgreSQL does not announce (its trigger off for a moment) is not seen: both pages are kept.
    conn = await asyncpg.connect(pg_engine.url)
    try:
        await conn.execute("ALTER TABLE session DISABLE TRIGGER commons_listings_changed")
        await conn.execute("UPDATE session SET booked = 1 WHERE id = $1", session.id)
        await conn.execute("ALTER TABLE session ENABLE TRIGGER commons_listings_changed")
    finally:
        await conn.close()
    for stopped in (second, first):
        assert "5 places left" in await in_process(stopped, lambda: _page(base_url, path))

    async def book() -> None:
        async with fresh_connection_client(base_url, httpx.Cookies()) as browser:
            checked = await check_answers(browser, session.id, email="kept.pages@example.org")
            assert (await confirm_answers(browser, session.id, checked.text)).status_code == 303

    await in_process(second, book)  # booked 2 of 5

    async def fresh_in_second() -> bool:
        return "3 places left" in await _page(base_url, path)

    os.kill(first, signal.SIGSTOP)
    try:
        await wait_for_async(fresh_in_second, timeout=10, message="the other process to hear of the booking")
    finally:
        os.kill(first, signal.SIGCONT)
