"""Places left, live: ``availability.changed`` from NATS, pushed to open session pages as server-sent events.

Every web process subscribes with plain core NATS (no queue group), so each one hears every change and
tells the pages it serves. The page is right without any of this: the count is rendered on load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace

import nats.errors
from jinja2 import Template as JinjaTemplate
from litestar import Controller, Litestar, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import ServerSentEvent, ServerSentEventMessage
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from booking.queries import SessionView, get_session
from commons.settings import Settings
from events.catalogue import AvailabilityChanged, InvalidEventData, parse
from events.envelope import MalformedEvent, decode, subject_for
from events.stream import NatsUnavailable, connect
from events.stream import close as close_nats
from web.params import RowId

log = logging.getLogger(__name__)

AVAILABILITY_CHANGED = "availability.changed"
KEEP_ALIVE_SECONDS = 15.0  #: a comment this often stops proxies closing a quiet stream
RECONNECT_MS = 2000  #: how soon a browser reconnects after the stream ends (a restart, a deploy)
MAX_BACKOFF = 5.0
PLACES_EVENT = "places"  #: the SSE event name the page's ``sse-swap`` listens for
HUB_STATE_KEY = "live_hub"  #: app.state key; session.html connects to the stream only when it is set
SKIP_COMPRESSION = "skip_compression"  #: route opt: a gzip stream per open page costs memory and buys nothing


class PlacesWatch:
    """One open page's interest in one session. Keeps only the newest change: a slow page never blocks others."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.closed = False
        self._latest: AvailabilityChanged | None = None
        self._wake = asyncio.Event()

    def offer(self, availability: AvailabilityChanged) -> None:
        self._latest = availability  # an older change not yet sent is stale: replace it
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def next(self, timeout: float) -> AvailabilityChanged | None:
        """The newest change since the last call, or None after ``timeout`` seconds without one (or once closed)."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return None
        self._wake.clear()
        latest, self._latest = self._latest, None
        return latest


class AvailabilityHub:
    """Subscribes to ``commons.availability.changed`` in the background and fans each change out to the watches.

    The web app starts and takes bookings while NATS is down: the hub keeps trying to connect, and once
    connected the NATS client reconnects (and resubscribes) by itself after any outage.
    """

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.subscribed = asyncio.Event()  #: set once the subscription is in place (tests wait on it)
        self._watches: dict[int, set[PlacesWatch]] = {}
        self._closing = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="availability-hub")

    async def stop(self) -> None:
        self.close_streams()
        if self._task is None:
            return
        if not self.subscribed.is_set():
            self._task.cancel()  # still trying to reach NATS: nothing to drain
        try:
            await self._task
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise

    def close_streams(self) -> None:
        """End every open stream, and any opened later (the browsers reconnect to a server that is staying)."""
        self._closing.set()
        for watches in self._watches.values():
            for watch in watches:
                watch.close()

    @contextmanager
    def watch(self, session_id: int) -> Iterator[PlacesWatch]:
        watch = PlacesWatch(session_id)
        if self._closing.is_set():
            watch.close()
        self._watches.setdefault(session_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches[session_id]
            watches.discard(watch)
            if not watches:
                del self._watches[session_id]

    def deliver(self, availability: AvailabilityChanged) -> None:
        for watch in self._watches.get(availability.session_id, ()):
            watch.offer(availability)

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = decode(msg.data)
            if event["type"] != AVAILABILITY_CHANGED:
                raise MalformedEvent(f"{event['type']} on {msg.subject}")
            availability = parse(event)
        except (MalformedEvent, InvalidEventData) as exc:
            log.warning("live places: ignoring a message on %s: %s", msg.subject, exc)
            return
        assert isinstance(availability, AvailabilityChanged)
        self.deliver(availability)

    async def _run(self) -> None:
        nc = await self._connect()
        if nc is None:
            return
        try:
            await nc.subscribe(subject_for(AVAILABILITY_CHANGED), cb=self._on_message)
            await nc.flush()
            self.subscribed.set()
            log.info("live places: listening for availability changes on %s", self.nats_url)
            await self._closing.wait()
        finally:
            await close_nats(nc)

    async def _connect(self) -> NATS | None:
        """Connect with back-off until connected or stopped."""
        delay = 0.2
        while not self._closing.is_set():
            try:
                return await connect(self.nats_url, name="web")
            except (NatsUnavailable, nats.errors.Error, TimeoutError, OSError) as exc:
                log.warning("live places: NATS not reachable (%s); retrying in %.1fs", exc, delay)
            try:
                await asyncio.wait_for(self._closing.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, MAX_BACKOFF)
        return None


def live_places_lifespan(settings: Settings):
    """Run an AvailabilityHub while the app runs, if NATS is configured; the pages use it when present."""

    @asynccontextmanager
    async def live_places(app: Litestar) -> AsyncIterator[None]:
        if settings.nats_url is None:
            yield
            return
        hub = AvailabilityHub(settings.nats_url)
        hub.start()
        app.state[HUB_STATE_KEY] = hub
        try:
            yield
        finally:
            del app.state[HUB_STATE_KEY]
            await hub.stop()

    return live_places


def hub_of(app: Litestar) -> AvailabilityHub | None:
    return app.state.get(HUB_STATE_KEY)


def close_streams(app: Litestar) -> None:
    """Call when the server is asked to stop: open streams would otherwise hold up its graceful shutdown."""
    hub = hub_of(app)
    if hub is not None:
        hub.close_streams()


def with_availability(session: SessionView, availability: AvailabilityChanged) -> SessionView:
    """The session as the change left it; ``held`` is whatever the change's places_left implies."""
    held = availability.capacity - availability.booked - availability.places_left
    return replace(session, capacity=availability.capacity, booked=availability.booked, held=held)


def _places(template: JinjaTemplate, session: SessionView) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=template.render(session=session), event=PLACES_EVENT, retry=RECONNECT_MS)


async def place_updates(hub: AvailabilityHub, session_id: int, template: JinjaTemplate) -> AsyncIterator[ServerSentEventMessage]:
    """The places as they are now, then after every change, with a keep-alive comment when quiet."""
    with hub.watch(session_id) as watch:
        # Read after watching, so no change falls between; the page may be older than this connection.
        session = await get_session(session_id)
        if session is None:
            return
        yield _places(template, session)
        while not watch.closed:
            availability = await watch.next(KEEP_ALIVE_SECONDS)
            if watch.closed:
                return
            if availability is None:
                yield ServerSentEventMessage(data=None, comment="keep-alive")
            else:
                yield _places(template, with_availability(session, availability))


class LivePlacesController(Controller):
    include_in_schema = False

    @get("/sessions/{session_id:int}/places", name="live_places", opt={SKIP_COMPRESSION: True})
    async def places(self, request: Request, session_id: RowId) -> ServerSentEvent:
        hub = hub_of(request.app)
        if hub is None or await get_session(session_id) is None:
            raise NotFoundException()
        template = request.app.template_engine.get_template("_places.html")
        return ServerSentEvent(place_updates(hub, session_id, template))
