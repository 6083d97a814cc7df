"""Kept What's on pages (web/listing_cache.py): reused while nothing under them changes, never after.

The rules of the cache are tested on their own; then, against a real PostgreSQL, that a change committed
by anyone (another connection, not the app) reaches the page at once, that a lost LISTEN connection
turns keeping off until it is back, and that kept pages are the pages the app would render.
"""

from __future__ import annotations

import asyncio
import gzip
from datetime import timedelta

import asyncpg
import pytest

from booking.tables import Activity, Session
from tests.builders import make_room, make_session, make_venue
from tests.support.services import wait_for_async
from tests.web.conftest import app_for, browser, check_answers, submit_booking, web_settings
from web.listing_cache import ListingCache, cache_of, listener_of

HTMX = {"HX-Request": "true", "HX-Target": "results", "HX-Current-URL": "http://testserver.local/whats-on"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def listening_cache(**kwargs) -> ListingCache:
    cache = ListingCache(**{"seconds": 5, **kwargs})
    cache.listening = True
    return cache


def test_a_kept_page_is_served_until_a_change_is_heard():
    cache = listening_cache()
    page = cache.put("k", cache.generation, b"<p>3 places left</p>")
    assert cache.get("k") is page
    assert gzip.decompress(page.gzipped) == b"<p>3 places left</p>"
    cache.changed()
    assert cache.get("k") is None and len(cache) == 0


def test_a_page_read_before_a_change_is_not_kept():
    cache = listening_cache()
    generation = cache.generation  # taken before the page's queries
    cache.changed()  # a booking commits while the page renders
    page = cache.put("k", generation, b"<p>3 places left</p>")
    assert page.html == b"<p>3 places left</p>"  # still sent to this one request
    assert cache.get("k") is None and len(cache) == 0


def test_a_kept_page_expires():
    clock = Clock()
    cache = listening_cache(seconds=5, clock=clock)
    cache.put("k", cache.generation, b"page")
    clock.now += 4.9
    assert cache.get("k") is not None
    clock.now += 0.1
    assert cache.get("k") is None


def test_nothing_is_kept_while_nobody_listens():
    cache = ListingCache(seconds=5)
    cache.put("k", cache.generation, b"page")
    assert cache.get("k") is None and len(cache) == 0
    cache.listening = True
    cache.put("k", cache.generation, b"page")
    cache.listening = False  # the LISTEN connection was lost: what was kept may have missed a change
    assert cache.get("k") is None and len(cache) == 0


def test_no_time_means_no_keeping():
    cache = listening_cache(seconds=0)
    cache.put("k", cache.generation, b"page")
    assert len(cache) == 0


def test_the_least_recently_used_page_goes_first_when_full():
    cache = listening_cache(max_pages=2)
    for key in ("a", "b"):
        cache.put(key, cache.generation, key.encode())
    assert cache.get("a") is not None  # "b" is now the least recently used
    cache.put("c", cache.generation, b"c")
    assert len(cache) == 2
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


class Render:
    """A render that waits until released, counting how often it ran."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail_first = fail_first

    async def __call__(self) -> bytes:
        self.calls += 1
        call = self.calls
        await self.release.wait()
        if self.fail_first and call == 1:
            raise ConnectionError("the database went away")
        return f"page {call}".encode()


async def _crowd(cache: ListingCache, render: Render, size: int) -> list:
    tasks = [asyncio.ensure_future(cache.page_for("k", render)) for _ in range(size)]
    await wait_for_async(lambda: render.calls >= 1, message="the first render to start")
    render.release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_requests_that_miss_together_share_one_render():
    cache, render = listening_cache(), Render()
    pages = await _crowd(cache, render, 5)
    assert render.calls == 1
    assert {page.html for page in pages} == {b"page 1"}
    assert (await cache.page_for("k", render)).html == b"page 1"  # and it is kept
    assert render.calls == 1


async def test_when_the_shared_render_fails_the_others_render_for_themselves():
    cache, render = listening_cache(), Render(fail_first=True)
    outcomes = await _crowd(cache, render, 3)
    assert isinstance(outcomes[0], ConnectionError)
    assert all(page.html.startswith(b"page ") for page in outcomes[1:])
    assert render.calls == 3


async def test_nothing_is_shared_while_nobody_listens():
    cache, render = ListingCache(seconds=5), Render()
    pages = await _crowd(cache, render, 3)
    assert render.calls == 3 and len({page.html for page in pages}) == 3


# Against PostgreSQL and the real app.


@pytest.fixture
async def cached_app(pg_engine, data_dir):
    settings = web_settings(pg_engine, data_dir, COMMONS_LISTING_CACHE_SECONDS="60")
    async with browser(settings) as client:
        listener = listener_of(app_for(settings))
        await wait_for_async(listener.connected.is_set, message="the listing listener to connect")
        yield client, listener


async def _changed_elsewhere(pg_engine, listener, statement: str, *args) -> None:
    """Run ``statement`` on a connection of its own, as another program would, and wait for the notification."""
    generation = listener.cache.generation
    conn = await asyncpg.connect(pg_engine.url)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()
    await wait_for_async(lambda: listener.cache.generation > generation, message="the change's notification")


async def settle(pg_engine, listener) -> None:
    """Wait until the notifications of this test's own set-up writes have been heard: notifications arrive in
    commit order, so once one sent now is heard, every earlier one has been."""
    await _changed_elsewhere(pg_engine, listener, "SELECT pg_notify('commons_listings', '')")


async def five_place_session(pg_engine, listener):
    """A venue of its own with one session of 5 places, its notifications heard."""
    venue = await make_venue()
    session = await make_session(capacity=5, room=await make_room(venue=venue))
    await settle(pg_engine, listener)
    return venue, session


async def _one_session_page(client, venue_slug: str):
    response = await client.get(f"/whats-on?venue={venue_slug}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    return response


async def test_a_change_committed_by_anyone_reaches_whats_on_at_once(cached_app, pg_engine):
    client, listener = cached_app
    venue, session = await five_place_session(pg_engine, listener)
    first = await _one_session_page(client, venue.slug)
    assert "5 places left" in first.text
    assert len(listener.cache) == 1
    again = await _one_session_page(client, venue.slug)
    assert again.headers["content-encoding"] == "gzip" and again.text == first.text

    # Another program, on its own connection, takes two places.
    await _changed_elsewhere(pg_engine, listener, "UPDATE session SET booked = booked + 2 WHERE id = $1", session.id)
    assert len(listener.cache) == 0
    assert "3 places left" in (await _one_session_page(client, venue.slug)).text


async def test_a_rolled_back_change_keeps_the_page(cached_app, pg_engine):
    client, listener = cached_app
    venue, session = await five_place_session(pg_engine, listener)
    await _one_session_page(client, venue.slug)
    generation = listener.cache.generation
    conn = await asyncpg.connect(pg_engine.url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("UPDATE session SET booked = 5 WHERE id = $1", session.id)
        await transaction.rollback()
        # A committed change afterwards proves the notifications are flowing, so the rollback's absence is real.
        await conn.execute("SELECT pg_notify('commons_listings', '')")
    finally:
        await conn.close()
    await wait_for_async(lambda: listener.cache.generation == generation + 1, message="the later notification")
    assert "5 places left" in (await _one_session_page(client, venue.slug)).text


async def test_a_booking_made_through_this_app_shows_on_its_next_page(cached_app, pg_engine):
    client, listener = cached_app
    venue, session = await five_place_session(pg_engine, listener)
    assert "5 places left" in (await _one_session_page(client, venue.slug)).text
    response = await submit_booking(client, session.id, party_size="2")
    assert response.status_code == 303
    assert "3 places left" in (await _one_session_page(client, venue.slug)).text


async def test_any_state_changing_request_this_app_answers_forgets_the_pages(cached_app, pg_engine):
    """Without waiting for the notification: this POST changes nothing, so none will come."""
    client, listener = cached_app
    venue, session = await five_place_session(pg_engine, listener)
    await _one_session_page(client, venue.slug)
    assert (await client.get(f"/sessions/{session.id}")).status_code == 200
    assert len(listener.cache) == 1  # reading another page forgets nothing
    refused = await check_answers(client, session.id, email="not an e-mail address")
    assert refused.status_code == 400
    assert len(listener.cache) == 0


async def test_while_the_listener_is_lost_every_page_is_rendered_afresh(cached_app, pg_engine):
    client, listener = cached_app
    venue, session = await five_place_session(pg_engine, listener)
    await _one_session_page(client, venue.slug)
    assert len(listener.cache) == 1
    conn = await asyncpg.connect(pg_engine.url)
    try:
        ended = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN %commons_listings%'"
        )
        assert ended >= 1
        await wait_for_async(lambda: not listener.cache.listening, message="the lost connection to be noticed")
        assert len(listener.cache) == 0
        await Session.update({Session.booked: 1}).where(Session.id == session.id)
        assert "4 places left" in (await _one_session_page(client, venue.slug)).text
        assert len(listener.cache) == 0  # nothing kept while nobody listens
        await wait_for_async(listener.connected.is_set, message="the listener to reconnect")
        await _one_session_page(client, venue.slug)
        assert len(listener.cache) == 1
        await conn.execute("UPDATE session SET booked = 2 WHERE id = $1", session.id)
        await wait_for_async(lambda: len(listener.cache) == 0, message="a notification after reconnecting")
        assert "3 places left" in (await _one_session_page(client, venue.slug)).text
    finally:
        await conn.close()


async def test_kept_pages_are_the_pages_the_app_renders(cached_app, pg_engine, data_dir):
    client, listener = cached_app
    venue, _session = await five_place_session(pg_engine, listener)
    query = f"/whats-on?venue={venue.slug}&day=monday&has_places=yes"
    full, partial = await client.get(query), await client.get(query, headers=HTMX)
    assert len(listener.cache) == 2  # the whole page and the htmx results are kept apart
    kept_full, kept_partial = await client.get(query), await client.get(query, headers=HTMX)
    assert kept_full.text == full.text and kept_partial.text == partial.text
    assert "<h1>What's on</h1>" in full.text and "<h1>" not in partial.text
    assert 'name="day" type="checkbox" value="monday" checked' in kept_full.text  # the search kept as typed
    plain = await client.get(query, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == full.text
    for response in (kept_full, kept_partial, plain):  # for caches on the way: which headers choose the answer
        assert response.headers["vary"] == "Accept-Encoding, HX-Request, HX-Target"
    # The same question with keeping off renders the same page.
    async with browser(web_settings(pg_engine, data_dir)) as uncached:
        assert cache_of(app_for(web_settings(pg_engine, data_dir))) is None
        rendered = await uncached.get(query, headers={"Accept-Encoding": "gzip"})
        assert rendered.text == full.text
        assert rendered.headers["vary"] == "HX-Request, HX-Target,Accept-Encoding"  # Litestar adds its own


async def test_whats_on_carries_no_csrf_token_and_still_sets_security_headers(cached_app):
    client, _listener = cached_app
    for _ in range(2):  # rendered, then kept
        response = await client.get("/whats-on", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert "x-csrftoken" not in response.text and "_csrf_token" not in response.text
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_sqlite_keeps_nothing(db, data_dir):
    settings = web_settings(db, data_dir, COMMONS_LISTING_CACHE_SECONDS="60")
    async with browser(settings) as client:
        assert (await client.get("/whats-on")).status_code == 200
        if db.kind == "sqlite":
            assert cache_of(app_for(settings)) is None
        else:
            assert cache_of(app_for(settings)) is not None


async def test_activity_and_venue_pages_are_kept_and_follow_changes(cached_app, pg_engine):
    client, listener = cached_app
    venue = await make_venue(name="Riverside Library")
    session = await make_session(capacity=5, room=await make_room(venue=venue))
    activity = await Activity.objects().where(Activity.id == session.activity).first()
    await settle(pg_engine, listener)
    for path, before, statement, key, after in (
        (
            f"/activities/{activity.slug}",
            activity.title,
            "UPDATE activity SET title = $2 WHERE id = $1",
            activity.id,
            "Chair yoga",
        ),
        (
            f"/venues/{venue.slug}",
            "Riverside Library",
            "UPDATE venue SET name = $2 WHERE id = $1",
            venue.id,
            "Hillside Hub",
        ),
    ):
        first = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert first.status_code == 200 and before in first.text and "5 places left" in first.text
        assert (await client.get(path, headers={"Accept-Encoding": "gzip"})).text == first.text
        assert len(listener.cache) >= 1
        await _changed_elsewhere(pg_engine, listener, statement, key, after)
        assert after in (await client.get(path)).text


async def test_an_unknown_activity_or_venue_is_not_found_and_nothing_is_kept(cached_app):
    client, listener = cached_app
    for path in ("/activities/no-such-activity", "/venues/no-such-venue"):
        for _ in range(2):
            assert (await client.get(path)).status_code == 404
    assert len(listener.cache) == 0


async def test_the_home_page_is_kept_and_shows_a_new_session_at_once(cached_app, pg_engine):
    client, listener = cached_app
    await settle(pg_engine, listener)
    await client.get("/")
    assert len(listener.cache) == 1
    session = await make_session(capacity=3, starts_in=timedelta(seconds=30))  # sooner than anything else
    await wait_for_async(lambda: len(listener.cache) == 0, message="the new session's notification")
    assert f'href="/sessions/{session.id}"' in (await client.get("/")).text


@pytest.mark.parametrize("path", ["/", "/whats-on", "/activities/{activity}", "/venues/{venue}"])
async def test_no_shared_page_carries_a_csrf_token(cached_app, path):
    client, _listener = cached_app
    venue = await make_venue()
    session = await make_session(room=await make_room(venue=venue))
    activity = await Activity.objects().where(Activity.id == session.activity).first()
    response = await client.get(path.format(activity=activity.slug, venue=venue.slug))
    assert response.status_code == 200
    assert "x-csrftoken" not in response.text and "_csrf_token" not in response.text
    assert "commons_csrf" not in response.headers.get("set-cookie", "")
