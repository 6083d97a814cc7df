"""Shared pages, rendered once and reused until something they show changes.

The home page, What's on (per search) and the activity and venue pages are the same for everyone who asks
for them (``shared_page`` in web/pages.py), and What's on is by far the most requested page; building it
runs two or three queries and renders twenty sessions (about 18 KB of HTML). So each web process keeps
the pages it has rendered, gzipped, and serves them again, but only while it can hear every change:

- On PostgreSQL a statement trigger on each table these pages show (session, activity, room, venue,
  partner; migration ``booking_2026_11_30t14_00_00_000000``) runs ``pg_notify('commons_listings')``.
  The notification is delivered when the writing transaction commits, whoever wrote it: the web app,
  a worker, the CLI, or someone in ``psql``.
- Every web process holds one connection that LISTENs on that channel (``ListingListener``). A
  notification forgets every kept page at once, so places left are as live as the database.
- A page is kept only while that connection is open. Lost, or not yet open: every request renders
  afresh (as on SQLite, where there is no such notification), and the first page after reconnecting is
  rendered afresh too.
- A page is also forgotten after ``COMMONS_LISTING_CACHE_SECONDS`` (5 by default; 0 turns all this off),
  because time changes it too: a session that has started leaves the list.
- A state-changing request answered by this process forgets the pages as its answer starts, so a
  resident who has just booked sees the new count even before the notification arrives
  (``forget_after_writes``).

A page rendered while a change commits is never kept: it is stored only if no change was heard between
the moment it started reading and the moment it was rendered (the ``generation`` check). Requests that
miss the same page at the same time share one render. The cache holds at most ``MAX_PAGES`` pages, least
recently used first out, so odd searches cannot fill the memory.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from litestar import Litestar
from litestar.types import Message, Scope

from commons.settings import Settings

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "commons_listings"
MAX_PAGES = 256
MAX_BACKOFF = 5.0
STATE_KEY = "listing_cache"
#: for kept pages and (web/app.py) every other page: zlib's own default. Litestar's default, 9, takes a third
#: more CPU for What's on (0.13 ms against 0.09 ms) and makes it 10 bytes smaller (3,179 against 3,189 of 18,686).
GZIP_LEVEL = 6
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class CachedPage:
    html: bytes
    gzipped: bytes
    generation: int
    expires: float


class ListingCache:
    """Rendered pages by key, each valid for one generation of the data and until it expires."""

    def __init__(self, seconds: float, max_pages: int = MAX_PAGES, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.max_pages = max_pages
        self._clock = clock
        self._pages: OrderedDict[Hashable, CachedPage] = OrderedDict()
        self._generation = 0
        self._listening = False
        self._rendering: dict[tuple[Hashable, int], asyncio.Future[CachedPage | None]] = {}

    @property
    def generation(self) -> int:
        """Changes whenever the data may have changed; take it before reading, hand it to ``put`` after."""
        return self._generation

    @property
    def listening(self) -> bool:
        return self._listening

    @listening.setter
    def listening(self, value: bool) -> None:
        self.changed()  # whatever was kept may have missed a change while nobody was listening
        self._listening = value

    def changed(self) -> None:
        self._generation += 1
        self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Hashable) -> CachedPage | None:
        page = self._pages.get(key)
        if page is None:
            return None
        if not self._listening or page.generation != self._generation or page.expires <= self._clock():
            del self._pages[key]
            return None
        self._pages.move_to_end(key)
        return page

    async def page_for(self, key: Hashable, render: Callable[[], Awaitable[bytes]]) -> CachedPage:
        """The kept page, else one rendered now. While listening, requests that miss together share one
        render: after a change, a crowd would otherwise all run the same queries at once."""
        page = self.get(key)
        if page is not None:
            return page
        generation = self._generation
        if not self._listening:
            return self.put(key, generation, await render())
        flight = (key, generation)
        if (leader := self._rendering.get(flight)) is not None:
            page = await asyncio.shield(leader)  # a waiter that gives up does not cancel the leader's render
            if page is not None:
                return page
            # The leader's render failed; this request tries for itself, failing with its own error if it must.
            return self.put(key, self._generation, await render())
        future: asyncio.Future[CachedPage | None] = asyncio.get_running_loop().create_future()
        self._rendering[flight] = future
        try:
            page = self.put(key, generation, await render())
            return page
        finally:
            del self._rendering[flight]
            future.set_result(page)

    def put(self, key: Hashable, generation: int, html: bytes) -> CachedPage:
        """Keep the page, unless the data changed since ``generation`` was taken or nobody is listening."""
        page = CachedPage(
            html=html,
            gzipped=gzip.compress(html, GZIP_LEVEL, mtime=0),
            generation=generation,
            expires=self._clock() + self.seconds,
        )
        if self._listening and self.seconds > 0 and generation == self._generation:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        return page


class ListingListener:
    """Keeps a LISTEN connection to PostgreSQL open; the cache is used only while it is open."""

    def __init__(self, dsn: str, cache: ListingCache) -> None:
        self.dsn = dsn
        self.cache = cache
        self.connected = asyncio.Event()  #: set while listening (tests wait on it)
        self._closing = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="listing-listener")

    async def stop(self) -> None:
        self._closing.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        delay = 0.2
        while not self._closing.is_set():
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self.cache.changed())
                self.cache.listening = True
                self.connected.set()
                log.info("shared pages: listening for changes on %s", NOTIFY_CHANNEL)
                delay = 0.2
                await _first(lost, self._closing)
                if lost.is_set():
                    log.warning("shared pages: the connection listening for changes was lost; reconnecting")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("shared pages: cannot listen for changes (%s); retrying in %.1fs", exc, delay)
            finally:
                self.connected.clear()
                self.cache.listening = False
                if conn is not None and not conn.is_closed():
                    conn.terminate()  # never waits on a server that may be gone
            if not self._closing.is_set():
                try:
                    await asyncio.wait_for(self._closing.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, MAX_BACKOFF)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def listing_cache_lifespan(settings: Settings):
    """Keep pages (and a listener) while the app runs, on PostgreSQL with a non-zero cache time."""

    @asynccontextmanager
    async def listing_cache(app: Litestar) -> AsyncIterator[None]:
        if not settings.is_postgres or settings.listing_cache_seconds <= 0:
            yield
            return
        cache = ListingCache(settings.listing_cache_seconds)
        listener = ListingListener(settings.database_url, cache)
        listener.start()
        app.state[STATE_KEY] = listener
        try:
            yield
        finally:
            del app.state[STATE_KEY]
            await listener.stop()

    return listing_cache


def listener_of(app: Litestar) -> ListingListener | None:
    return app.state.get(STATE_KEY)


def cache_of(app: Litestar) -> ListingCache | None:
    listener = listener_of(app)
    return None if listener is None else listener.cache


async def forget_after_writes(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: a state-changing request's answer starts only after its commit."""
    if message["type"] == "http.response.start" and scope.get("method") not in SAFE_METHODS:
        cache = cache_of(scope["app"])
        if cache is not None:
            cache.changed()
