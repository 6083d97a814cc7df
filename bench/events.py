"""Events: a booking's commit to its confirmation e-mail accepted by a real SMTP server.

Runs the real pipeline against the bench database: a nats-server on a free port, ``commons worker
relay`` and ``commons worker notifications`` as child processes, and an aiosmtpd server in this process
that stamps each message as it accepts it. Bookings are made here with ``booking.service.book_place``
at a paced rate (open loop: each booking starts at its scheduled time, however long earlier ones took),
and each is stamped when ``book_place`` returns, i.e. after its transaction committed. The e-mail is
matched to its booking by the reference at the end of the Subject.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import asyncpg

from bench.report import summary
from bench.servers import BIN, ROOT
from booking.errors import BookingError
from booking.service import book_place
from booking.validation import ResidentDetails
from commons.db import bind_tables, close_pool, engine_for, open_pool
from events.consumer import FETCH_BATCH, FETCH_TIMEOUT
from events.relay import POSTGRES_POLL_INTERVAL
from notifications.sender import BATCH_SIZE as SENDER_BATCH
from notifications.sender import POLL_INTERVAL as SENDER_POLL
from tests.support.services import NatsServer, free_port, wait_for_async

PACED = ((10, 20.0), (100, 10.0))  #: (bookings per second, seconds)
RUSH_BOOKINGS = 2000
RUSH_CONCURRENCY = 20  #: bookings in flight at once during the rush
POOL_SIZE = 20
DELIVERY_TIMEOUT = 300.0  #: the longest the bench waits for the last e-mail of a phase
#: "(K7P-3QX)" at the end of a booking e-mail's Subject (as tests/faults/support.py matches them).
REFERENCE_IN_SUBJECT = re.compile(r"\(([A-Z0-9]{3}-[A-Z0-9]{3})\)$")


class StampingSink:
    """aiosmtpd handler: the moment each confirmation e-mail was accepted, by booking reference."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}
        self.others = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        stamp = time.perf_counter()
        message = message_from_bytes(envelope.original_content or envelope.content)
        subject = " ".join(str(make_header(decode_header(message["Subject"] or ""))).split())
        match = REFERENCE_IN_SUBJECT.search(subject)
        if match and match.group(1) not in self.accepted:
            self.accepted[match.group(1)] = stamp
        else:
            self.others += 1
        return "250 Message accepted for delivery"


def _worker(kind: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "commons"), "worker", kind], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _big_session(dsn: str, fixtures: dict, slot: int) -> int:
    """A session nobody can fill, in the bench room, clear of every other bench session."""
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5, hours=2 * slot)
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "INSERT INTO session (activity, room, starts_at, ends_at, capacity, booked, held, status, created_at,"
            " updated_at, setup_minutes, cleardown_minutes) VALUES ($1, $2, $3, $4, 1000000, 0, 0, 'scheduled',"
            " now(), now(), 0, 0) RETURNING id",
            fixtures["activity"],
            fixtures["room"],
            starts,
            starts + timedelta(hours=1),
        )
    finally:
        await conn.close()


class Booker:
    """Books fresh residents onto one session and remembers when each booking committed."""

    def __init__(self, session_id: int, label: str) -> None:
        self.session_id = session_id
        self.label = f"{label}-{uuid.uuid4().hex[:6]}"
        self.committed: dict[str, float] = {}
        self.errors: list[str] = []

    async def book(self, n: int) -> None:
        resident = ResidentDetails(f"Events Resident {n}", f"events-{self.label}-{n}@example.org")
        try:
            confirmation = await book_place(self.session_id, resident, 1)
        except (BookingError, asyncpg.PostgresError, OSError) as error:  # counted: one failure must not end the run
            self.errors.append(f"{type(error).__name__}: {error}")
            return
        self.committed[confirmation.reference] = time.perf_counter()


async def _delivered(sink: StampingSink, booker: Booker) -> dict[str, float]:
    await wait_for_async(
        lambda: all(ref in sink.accepted for ref in booker.committed),
        timeout=DELIVERY_TIMEOUT,
        interval=0.05,
        message=f"{len(booker.committed)} confirmation e-mails",
    )
    return {ref: sink.accepted[ref] for ref in booker.committed}


async def paced(sink: StampingSink, session_id: int, rate: int, seconds: float) -> dict:
    """``rate`` bookings a second for ``seconds``, each started on schedule; commit → accepted."""
    booker = Booker(session_id, f"paced{rate}")
    count = int(rate * seconds)
    began = time.perf_counter()

    async def at(n: int) -> None:
        await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))  # the schedule, not a wait on work
        await booker.book(n)

    await asyncio.gather(*(at(n) for n in range(count)))
    booking_seconds = time.perf_counter() - began
    accepted = await _delivered(sink, booker)
    latencies = [accepted[ref] - committed for ref, committed in booker.committed.items()]
    figures = summary(latencies, booking_seconds)
    figures.update(rate=rate, errors=len(booker.errors), error_samples=sorted(set(booker.errors))[:5])
    figures["note"] = f"{rate}/s asked, {figures['per_second']}/s booked, errors {len(booker.errors)}"
    return figures


async def rush(sink: StampingSink, session_id: int, bookings: int, concurrency: int) -> dict:
    """``bookings`` as fast as ``concurrency`` at a time can make them; then how long the backlog takes."""
    booker = Booker(session_id, "rush")
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            await booker.book(n)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(bookings)))
    accepted = await _delivered(sink, booker)
    first_commit, last_commit = min(booker.committed.values()), max(booker.committed.values())
    last_accepted = max(accepted.values())
    backlog = sum(1 for stamp in accepted.values() if stamp > last_commit)
    drain = last_accepted - last_commit
    latencies = [accepted[ref] - committed for ref, committed in booker.committed.items()]
    figures = summary(latencies, last_commit - began)
    figures.update(
        errors=len(booker.errors),
        backlog_at_last_commit=backlog,
        drain_seconds=round(drain, 3),
        drain_per_second=round(backlog / drain, 1) if drain > 0 else 0.0,
        delivered_per_second=round(len(accepted) / (last_accepted - first_commit), 1),
    )
    figures["note"] = (
        f"backlog {backlog} at last commit, drained in {drain:.1f} s ({figures['drain_per_second']}/s); "
        f"errors {len(booker.errors)}"
    )
    return figures


def limits() -> dict:
    """The worker settings that bound latency and throughput (read from the code, not changed)."""
    return {
        "relay": f"LISTEN/NOTIFY wakes it per commit; fallback poll every {POSTGRES_POLL_INTERVAL:g} s",
        "consumer": f"pull fetch of up to {FETCH_BATCH} messages, {FETCH_TIMEOUT:g} s fetch time-out",
        "sender": (
            f"one sender per worker, claims {SENDER_BATCH} due messages at a time and sends them one by one, "
            f"over one SMTP connection per batch; woken by the consumer, else polls every {SENDER_POLL:g} s"
        ),
    }


async def measure(dsn: str, env: dict[str, str], logs: Path, fixtures: dict, first_slot: int = 20) -> dict:
    """Every events figure: the paced levels, then the rush and its drain."""
    from aiosmtpd.controller import Controller

    sink = StampingSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    engine = engine_for(dsn)
    bind_tables(engine)
    await open_pool(engine, max_size=POOL_SIZE)
    workers: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="commons-bench-nats-") as store:
        nats = NatsServer(store_dir=Path(store))
        nats.start()
        worker_env = {**env, "COMMONS_NATS_URL": nats.url, "COMMONS_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}
        try:
            workers = [_worker(kind, worker_env, logs / f"worker-{kind}.log") for kind in ("relay", "notifications")]
            warm = Booker(await _big_session(dsn, fixtures, first_slot), "warm-up")
            await warm.book(0)
            await _delivered(sink, warm)  # the whole pipeline answers before anything is timed
            results: dict = {"paced": {}, "limits": limits()}
            for offset, (rate, seconds) in enumerate(PACED, start=1):
                print(f"events, {rate} bookings/s for {seconds:g} s", flush=True)
                session_id = await _big_session(dsn, fixtures, first_slot + offset)
                results["paced"][str(rate)] = await paced(sink, session_id, rate, seconds)
            print(f"events, rush of {RUSH_BOOKINGS} bookings", flush=True)
            session_id = await _big_session(dsn, fixtures, first_slot + len(PACED) + 1)
            results["rush"] = await rush(sink, session_id, RUSH_BOOKINGS, RUSH_CONCURRENCY)
            results["rush"]["bookings"] = RUSH_BOOKINGS
            results["rush"]["concurrency"] = RUSH_CONCURRENCY
            return results
        finally:
            for process in workers:
                _stop(process)
            nats.stop()
            smtp.stop()
            await close_pool(engine)
