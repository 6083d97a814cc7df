"""Run Commons processes: the web app, one worker, or everything in one process for ``commons up``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
import uvicorn

from commons.db import bind_tables, close_pool, engine_for, open_pool
from commons.settings import Settings, get_settings

log = logging.getLogger(__name__)

STARTUP_FAILURE = 3  #: what uvicorn exits with when the app fails to start

WorkerFn = Callable[[Settings, asyncio.Event], Awaitable[None]]


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")


def serve(host: str, port: int, workers: int = 1) -> int:
    """The web app alone (bookings keep working whether or not NATS is up), in ``workers`` processes."""
    _configure_logging()
    if workers <= 1:
        return _serve_in_this_process(host, port)
    return _Supervisor(host, port, workers).run()


def _serve_in_this_process(host: str, port: int, sock: socket.socket | None = None) -> int:
    from web.app import create_app

    server = _Server(uvicorn.Config(create_app(get_settings()), host=host, port=port, log_level="info"))

    async def main() -> None:
        _stop_on_signals(asyncio.Event(), also=lambda: _ask_to_exit(server))
        await server.serve(sockets=[sock] if sock is not None else None)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main())
    return 0 if server.started else STARTUP_FAILURE


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (as uvicorn's own "auto" choice would be), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # uvloop does not build on Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _Supervisor:
    """Several web processes sharing one listening socket: the kernel hands each connection to one of them.

    Every process is a whole app (its own pool, live-places subscription), as with several hosts;
    sessions and rate-limit counts that must be shared live in the database or the data directory.
    SIGTERM or SIGINT goes on to every process, and the supervisor exits 0 once all have stopped
    cleanly. A process that dies on its own is started again, unless it failed at start-up (the
    others would too: the database is unreachable, say) or processes keep dying (5 within a minute).
    """

    RESTARTS_PER_MINUTE = 5

    def __init__(self, host: str, port: int, workers: int) -> None:
        self.host, self.port, self.workers = host, port, workers
        self.children: dict[int, int] = {}  #: pid -> slot
        self.stopping = False
        self.restarts: list[float] = []

    def run(self) -> int:
        sock = socket.create_server((self.host, self.port), backlog=2048)
        sock.set_inheritable(True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._forward)
        log.info("serving http://%s:%d with %d web processes", self.host, self.port, self.workers)
        for slot in range(self.workers):
            self._start(slot, sock)
        failed = 0
        while self.children:
            pid, status = os.wait()
            slot = self.children.pop(pid, None)
            if slot is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                # Killed by the signal we passed on: a process still starting up has no handler yet.
                failed = failed or code not in (0, -signal.SIGTERM, -signal.SIGINT)
                continue
            log.error("web process %d (pid %d) exited with %d", slot, pid, code)
            if code == STARTUP_FAILURE or not self._may_restart():
                failed = STARTUP_FAILURE if code == STARTUP_FAILURE else 1
                self._forward(signal.SIGTERM, None)
                continue
            self._start(slot, sock)
        sock.close()
        return STARTUP_FAILURE if failed == STARTUP_FAILURE else (1 if failed else 0)

    def _start(self, slot: int, sock: socket.socket) -> None:
        pid = os.fork()
        if pid == 0:  # the child: default signal handling until its own event loop takes over
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            code = 1
            try:
                code = _serve_in_this_process(self.host, self.port, sock)
            finally:
                os._exit(code)
        self.children[pid] = slot
        log.info("web process %d started (pid %d)", slot, pid)

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < 60] + [now]
        return len(self.restarts) <= self.RESTARTS_PER_MINUTE

    def _forward(self, signum: int, _frame) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)


def _worker_for(kind: str) -> WorkerFn:
    if kind == "relay":
        from events.relay import run_relay

        return run_relay
    if kind == "notifications":
        from notifications.worker import run_notifications_worker

        return run_notifications_worker
    if kind == "capacity":
        from commons.capacity_worker import run_capacity_worker

        return run_capacity_worker
    raise ValueError(f"unknown worker {kind!r}")


class DatabaseUnavailable(ConnectionError):
    """The database did not answer when the process started."""


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Bind every table to the configured database for the life of a process.

    Raises ``DatabaseUnavailable`` at once if PostgreSQL cannot be reached (asyncpg gives up after 60 s).
    """
    engine = engine_for(settings.database_url)
    bind_tables(engine)
    try:
        await open_pool(engine)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        where = _without_password(settings.database_url)
        reason = " ".join(str(exc).split()) or type(exc).__name__  # one line for the log
        raise DatabaseUnavailable(f"could not connect to the database at {where}: {reason}") from exc
    try:
        yield
    finally:
        await close_pool(engine)


def _stop_on_signals(stop: asyncio.Event, also: Callable[[], None] | None = None) -> None:
    loop = asyncio.get_running_loop()

    def request_stop(signame: str) -> None:
        log.info("received %s, shutting down", signame)
        stop.set()
        if also is not None:
            also()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)


def run_worker(kind: str) -> int:
    """Run one worker until SIGTERM or SIGINT; exit code 0 after a clean shutdown."""
    from events.stream import NatsUnavailable

    _configure_logging()
    settings = get_settings()
    if settings.nats_url is None:
        print(
            "commons: COMMONS_NATS_URL must be set to run a worker on its own (or use `commons up`).", file=sys.stderr
        )
        return 2
    worker = _worker_for(kind)

    async def main() -> None:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        async with database(settings):
            await worker(settings, stop)

    try:
        asyncio.run(main())
    except (NatsUnavailable, DatabaseUnavailable) as exc:
        print(f"commons worker {kind}: {exc}", file=sys.stderr)
        return STARTUP_FAILURE
    return 0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: Commons owns SIGINT/SIGTERM, stops in order and exits 0."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _ask_to_exit(server: uvicorn.Server) -> None:
    """First signal: graceful shutdown. A second one: stop waiting for open connections."""
    from web.live import close_streams

    close_streams(server.config.app)  # open live-places streams would otherwise hold up the shutdown
    if server.should_exit:
        server.force_exit = True
    server.should_exit = True


def up(host: str, port: int) -> int:
    """Everything in one process on the embedded defaults: SQLite writer, bundled nats-server, dev mailbox."""
    from commons.cli import migrate
    from commons.embedded import EmbeddedNats

    _configure_logging()
    settings = get_settings()
    asyncio.run(migrate())
    embedded = None
    try:
        if settings.nats_url is None:
            embedded = EmbeddedNats(settings.data_dir / "nats")
            embedded.start()
            os.environ["COMMONS_NATS_URL"] = embedded.url
            get_settings.cache_clear()
            settings = get_settings()
        asyncio.run(_up(settings, host, port))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


DEMO_ADMIN = "admin@example.org"


async def _invite_demo_admin(settings: Settings) -> None:
    """On a new demo database, an admin account for the staff console and the one-time link to set its password."""
    from datetime import datetime, timezone

    from booking.staff_accounts import create_staff_member, staff_link_token
    from booking.states import StaffRole

    _, link_id = await create_staff_member(
        DEMO_ADMIN, StaffRole.ADMIN, name="Demo administrator", now=datetime.now(timezone.utc)
    )
    token = await staff_link_token(settings.secret_key, link_id)
    log.info(
        "staff console: set the password of %s (admin) at %s/staff/password/%s (works once, for 7 days)",
        DEMO_ADMIN,
        settings.base_url.rstrip("/"),
        token,
    )


async def _up(settings: Settings, host: str, port: int) -> None:
    from booking.demo import seed_demo
    from commons.capacity_worker import run_capacity_worker
    from events.relay import run_relay
    from notifications.worker import run_notifications_worker
    from web.app import create_app

    stop = asyncio.Event()
    server = _Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="info"))
    _stop_on_signals(stop, also=lambda: _ask_to_exit(server))
    async with database(settings):
        if await seed_demo(force=False):
            log.info("loaded the demo data")
            await _invite_demo_admin(settings)
        web = asyncio.create_task(server.serve(), name="web")
        while not server.started and not web.done() and not stop.is_set():
            await asyncio.sleep(0.05)
        if not server.started:
            server.should_exit = True
            await web  # raises if start-up failed with an error
            if stop.is_set():
                return  # asked to stop while starting
            raise RuntimeError("the web app did not start; see the log above")
        workers = [
            asyncio.create_task(run_relay(settings, stop), name="relay"),
            asyncio.create_task(run_notifications_worker(settings, stop), name="notifications"),
            asyncio.create_task(run_capacity_worker(settings, stop), name="capacity"),
        ]
        print(f"Commons is running at http://{host}:{port}/ (dev mailbox: /dev/mailbox)", flush=True)
        try:
            # Runs until a signal sets ``stop``, or a task ends early (a start-up failure worth raising).
            await asyncio.wait([web, *workers, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            # Workers first (they finish the message in hand), then the web app, which closes its pool last.
            results = await asyncio.gather(*workers, return_exceptions=True)
            if not server.should_exit:
                _ask_to_exit(server)
            results += await asyncio.gather(web, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
