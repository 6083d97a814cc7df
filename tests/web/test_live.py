"""Live places: each web process hears availability.changed from a real nats-server and streams it to its pages."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from litestar import Litestar

import web.live
from booking.service import book_place
from events.catalogue import AvailabilityChanged
from events.envelope import encode, make_event
from events.relay import publish_pending
from events.stream import close as close_nats
from events.stream import connect
from tests.builders import make_session, resident
from tests.support.services import NatsServer, free_port, wait_for_async
from tests.web.conftest import browser, submit_booking, web_settings
from web.app import create_app
from web.live import AvailabilityHub, close_streams, hub_of

EVENT_TIMEOUT = 5.0  #: generous upper bound for one event to arrive; the browser test measures the real latency


class _Server(uvicorn.Server):
    """uvicorn on the test's event loop, leaving the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


@dataclass
class Served:
    app: Litestar
    base_url: str


@asynccontextmanager
async def served(settings) -> AsyncIterator[Served]:
    """A real web process (uvicorn on a free port, lifespan and all), as ``commons serve`` runs it."""
    app = create_app(settings)
    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await wait_for_async(lambda: server.started or task.done(), message="uvicorn to start")
    if task.done():
        task.result()  # start-up failed: raise its error here
    try:
        yield Served(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def listening(app: Litestar) -> AvailabilityHub:
    """The app's hub, once its NATS subscription is in place."""
    return await wait_for_async(
        lambda: (hub := hub_of(app)) is not None and hub.subscribed.is_set() and hub,
        timeout=15,
        message="the availability hub to subscribe",
    )


class SseStream:
    """Reads server-sent events from a streaming httpx response, one blank-line-terminated block at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> dict[str, str] | None:
        """The next event or comment as its fields (data lines joined); None when the server ended the stream."""
        return await asyncio.wait_for(self._read(), EVENT_TIMEOUT)

    async def _read(self) -> dict[str, str] | None:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if fields:
                    return fields
                continue
            name, _, value = line.partition(":")
            name = name or "comment"
            value = value.removeprefix(" ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        return None

    async def next_places(self) -> str:
        """The text of the next ``places`` event, skipping keep-alive comments."""
        while True:
            fields = await self.next()
            assert fields is not None, "the stream ended"
            if fields.get("event") == "places":
                return fields["data"]


@asynccontextmanager
async def places_stream(base_url: str, session_id: int) -> AsyncIterator[SseStream]:
    client = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(EVENT_TIMEOUT, read=None))
    async with client, client.stream("GET", f"/sessions/{session_id}/places") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseStream(response)


async def publish_everything(js) -> int:
    """What the relay does, to the end of the outbox (other tests may have left unpublished rows)."""
    total = 0
    while (published := await publish_pending(js)) > 0:
        total += published
    return total


def change(session_id: int, places_left: int, capacity: int = 10) -> AvailabilityChanged:
    return AvailabilityChanged(
        session_id=session_id, capacity=capacity, booked=capacity - places_left, places_left=places_left
    )


async def test_every_web_process_pushes_a_booking_to_the_pages_it_serves(db, data_dir, nats_server, js):
    session = await make_session(capacity=5)
    settings = web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with served(settings) as first, served(settings) as second:
        await listening(first.app)
        await listening(second.app)
        async with places_stream(first.base_url, session.id) as one, places_stream(second.base_url, session.id) as two:
            # On connecting, each page first gets the count as it is now.
            assert await one.next_places() == "5 places left"
            assert await two.next_places() == "5 places left"

            await book_place(session.id, resident(uuid.uuid4().hex), 2)
            assert await publish_everything(js) >= 1  # the relay's own publish: outbox -> JetStream

            assert await one.next_places() == "3 places left"
            assert await two.next_places() == "3 places left"


async def test_a_page_hears_only_about_its_own_session(db, data_dir, nats_server, js):
    watched, other = await make_session(capacity=4), await make_session(capacity=4)
    async with served(web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)) as site:
        await listening(site.app)
        async with places_stream(site.base_url, watched.id) as stream:
            assert await stream.next_places() == "4 places left"
            await book_place(other.id, resident(uuid.uuid4().hex), 1)
            await book_place(watched.id, resident(uuid.uuid4().hex), 4)
            await publish_everything(js)
            assert await stream.next_places() == "Full"


async def test_messages_that_are_not_availability_changes_are_ignored(db, data_dir, nats_server):
    session = await make_session(capacity=10)
    async with served(web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)) as site:
        await listening(site.app)
        nc = await connect(nats_server.url, name="test-publisher")
        try:
            async with places_stream(site.base_url, session.id) as stream:
                assert await stream.next_places() == "10 places left"
                subject = "commons.availability.changed"
                await nc.publish(subject, b"{not json")
                wrong_type = make_event("booking.waitlisted", {"session_id": session.id})
                await nc.publish(subject, encode(wrong_type))
                good = make_event("availability.changed", {"session_id": session.id, "capacity": 10, "booked": 3, "places_left": 7})
                await nc.publish(subject, encode(good))
                assert await stream.next_places() == "7 places left"
        finally:
            await close_nats(nc)


async def test_a_quiet_stream_gets_keep_alive_comments(db, data_dir, nats_server, monkeypatch):
    monkeypatch.setattr(web.live, "KEEP_ALIVE_SECONDS", 0.05)
    session = await make_session(capacity=3)
    settings = web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with served(settings) as site, places_stream(site.base_url, session.id) as stream:
        first = await stream.next()
        assert first is not None and first["event"] == "places" and first["retry"] == str(web.live.RECONNECT_MS)
        assert await stream.next() == {"comment": "keep-alive"}


async def test_closing_the_streams_ends_open_ones_and_any_opened_later(db, data_dir, nats_server):
    session = await make_session(capacity=3)
    settings = web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)
    async with served(settings) as site:
        async with places_stream(site.base_url, session.id) as stream:
            assert await stream.next_places() == "3 places left"
            # What the runner should do on SIGTERM: uvicorn's graceful shutdown waits for every open response.
            close_streams(site.app)
            assert await stream.next() is None  # the server ended the stream
        async with places_stream(site.base_url, session.id) as late:
            assert await late.next_places() == "3 places left"
            assert await late.next() is None


async def test_the_web_app_takes_bookings_while_nats_is_down_and_goes_live_once_it_is_up(db, data_dir, tmp_path):
    nats = NatsServer(store_dir=tmp_path / "nats")  # configured but not running yet
    session = await make_session(capacity=6)
    try:
        async with served(web_settings(db, data_dir, COMMONS_NATS_URL=nats.url)) as site:
            hub = hub_of(site.app)
            async with httpx.AsyncClient(base_url=site.base_url) as client:
                booked = await submit_booking(client, session.id, email=f"{uuid.uuid4().hex}@example.org")
                assert booked.status_code == 303
                page = await client.get(f"/sessions/{session.id}")
                assert "5 places left" in page.text
            assert hub is not None and not hub.subscribed.is_set()

            await asyncio.to_thread(nats.start)
            await listening(site.app)
            async with places_stream(site.base_url, session.id) as stream:
                assert await stream.next_places() == "5 places left"
                nc = await connect(nats.url, name="test-publisher")
                try:
                    event = make_event("availability.changed", {"session_id": session.id, "capacity": 6, "booked": 2, "places_left": 4})
                    await nc.publish("commons.availability.changed", encode(event))
                finally:
                    await close_nats(nc)
                assert await stream.next_places() == "4 places left"
    finally:
        nats.stop()


async def test_a_slow_page_gets_only_the_newest_count_and_holds_up_no_one():
    hub = AvailabilityHub("nats://127.0.0.1:1")  # never started: delivery is in-process
    with hub.watch(7) as slow, hub.watch(7) as quick, hub.watch(8) as elsewhere:
        for left in range(10, 0, -1):
            hub.deliver(change(7, left))  # returns at once, whoever is reading
            assert (await quick.next(EVENT_TIMEOUT)).places_left == left
        assert (await slow.next(EVENT_TIMEOUT)).places_left == 1  # nine stale counts were dropped
        hub.deliver(change(7, 0))
        assert (await slow.next(EVENT_TIMEOUT)).places_left == 0  # and nothing older was queued behind them
        hub.deliver(change(8, 3))
        assert (await elsewhere.next(EVENT_TIMEOUT)).places_left == 3
    assert hub._watches == {}  # a closed page leaves nothing behind


async def test_the_session_page_is_right_without_javascript_and_connects_when_live(db, data_dir, nats_server):
    session = await make_session(capacity=8)
    await book_place(session.id, resident(uuid.uuid4().hex), 3)
    async with browser(web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)) as client:
        page = (await client.get(f"/sessions/{session.id}")).text
    assert (
        '<dd id="places-left" aria-live="polite" aria-atomic="true" hx-ext="sse" '
        f'sse-connect="/sessions/{session.id}/places" sse-swap="places">5 places left</dd>'
    ) in page
    assert '<script src="/static/htmx-ext-sse.min.js" defer></script>' in page


async def test_without_nats_the_page_shows_the_count_and_opens_no_stream(client, db):
    session = await make_session(capacity=8)
    await book_place(session.id, resident(uuid.uuid4().hex), 1)
    page = (await client.get(f"/sessions/{session.id}")).text
    assert '<dd id="places-left" aria-live="polite" aria-atomic="true">7 places left</dd>' in page
    assert "sse-connect" not in page and "htmx-ext-sse" not in page
    assert (await client.get(f"/sessions/{session.id}/places")).status_code == 404


async def test_no_stream_for_a_session_that_does_not_exist(db, data_dir, nats_server):
    async with browser(web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)) as client:
        assert (await client.get("/sessions/2147483000/places")).status_code == 404


async def test_the_extension_is_served_from_this_site(client):
    response = await client.get("/static/htmx-ext-sse.min.js")
    assert response.status_code == 200 and 'htmx.defineExtension("sse"' in response.text
