"""Scale: the same page and booking latencies with the issue's table sizes loaded, against the small database.

A second fresh PostgreSQL database is migrated, given the demo, then bulk-loaded with COPY
(``copy_records_to_table``): 20,000 sessions over five venues, twenty rooms and eight activities, from
about 400 days ago to 100 days ahead (two a day per room, so no room is ever double-booked),
200,000 residents and 1,000,000 bookings (50 a session, one in ten cancelled; ``session.booked`` is
each session's confirmed places, which is checked), then ``VACUUM (ANALYZE)``. ``COMMONS_BENCH_SCALE``
multiplies every size (default 1).

Both databases get a ``commons serve`` and are measured in alternate turns, three rounds: GET
``/whats-on`` (a new search every request, so its queries run every time) and a demo session page, 16 at a time for 3 s, and 20 residents booking one after another
through the real forms (bench/rush.py). Each figure is the round with the median p50; the ratios are
big ÷ small: cost that does not grow with the tables stays near 1.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench import report
from bench.ceilings import http_load
from bench.report import summary
from bench.rush import Unexpected, resident_books
from bench.servers import BIN, ROOT, start_commons
from booking.references import ALPHABET
from booking.states import ActivityCategory

SESSIONS, RESIDENTS, BOOKINGS = 20_000, 200_000, 1_000_000
VENUES, ROOMS_PER_VENUE, ACTIVITIES = 5, 4, 8
SESSIONS_PER_DAY = 2  #: per room: 10:00 and 14:00 UTC, an hour each
FUTURE_DAYS = 100  #: the newest sessions start this many days ahead; the rest are in the past
CANCELLED_EVERY = 10  #: one booking in ten is cancelled (it holds no place)
CONCURRENCY, SECONDS = 16, 3.0  #: browse load on each database
BOOKINGS_PER_ROUND = 20  #: residents booking one after another, per database per round
ROUNDS = 3  #: alternate turns on the two databases; each figure is the round with the median p50
PARTS = ("whats_on", "session_page", "booking")
CHUNK = 100_000  #: rows per COPY
ADMIN_URL = os.environ.get("COMMONS_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def scale_factor() -> float:
    text = os.environ.get("COMMONS_BENCH_SCALE", "1")
    value = float(text)
    if value <= 0:
        raise ValueError(f"COMMONS_BENCH_SCALE must be more than 0 (got {text!r})")
    return value


def sizes(factor: float) -> dict[str, int]:
    sessions = max(ROOMS_PER_VENUE * VENUES, round(SESSIONS * factor))
    return {
        "sessions": sessions,
        "residents": max(60, round(RESIDENTS * factor)),
        "bookings": max(sessions, round(BOOKINGS * factor)),
    }


def _reference(n: int) -> str:
    """The n-th reference: six letters of ALPHABET, base 31 (887 million of them), never random."""
    chars = []
    for _ in range(6):
        n, digit = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars[:3]) + "-" + "".join(chars[3:])


async def _catalogue(conn: asyncpg.Connection, now: datetime) -> tuple[list[int], list[int]]:
    """The venues, rooms and activities the loaded sessions use; returns (room ids, activity ids)."""
    rooms = []
    for v in range(VENUES):
        venue = await conn.fetchval(
            "INSERT INTO venue (name, slug, address, postcode, latitude, longitude, time_zone, opening_hours, phone,"
            " accessibility, archived, created_at) VALUES ($1, $2, '1 Scale Street', 'ST1 1AA', 52.8, -2.1,"
            " 'Europe/London', '', '', '', false, $3) RETURNING id",
            f"Scale Library {v + 1}",
            f"scale-library-{v + 1}",
            now,
        )
        for r in range(ROOMS_PER_VENUE):
            rooms.append(
                await conn.fetchval(
                    "INSERT INTO room (venue, name, capacity, step_free_access, hearing_loop, accessible_toilet,"
                    " accessibility_notes, archived) VALUES ($1, $2, 80, true, $3, false, '', false) RETURNING id",
                    venue,
                    f"Room {r + 1}",
                    r % 2 == 0,
                )
            )
    categories = [category.value for category in ActivityCategory]
    activities = [
        await conn.fetchval(
            "INSERT INTO activity (title, slug, category, description, max_party_size, archived, waitlist_mode,"
            " reminder_hours, booking_opens_days, booking_closes_hours, max_active_bookings, default_capacity,"
            " default_duration_minutes) VALUES ($1, $2, $3, '', 4, false, 'offer', '24,2', 28, 1, 0, 60, 60)"
            " RETURNING id",
            f"Scale activity {a + 1}",
            f"scale-activity-{a + 1}",
            categories[a % len(categories)],
        )
        for a in range(ACTIVITIES)
    ]
    return rooms, activities


def _per_session(total_bookings: int, sessions: int, s: int) -> int:
    return total_bookings // sessions + (1 if s < total_bookings % sessions else 0)


async def load(dsn: str, factor: float) -> dict:
    """Bulk-load the big tables; returns the sizes and how long each part took."""
    size = sizes(factor)
    now = datetime.now(UTC).replace(microsecond=0)
    timings: dict[str, float] = {}
    conn = await asyncpg.connect(dsn)
    try:
        rooms, activities = await _catalogue(conn, now)
        per_room = -(-size["sessions"] // len(rooms))
        days = -(-per_room // SESSIONS_PER_DAY)
        first_day = (now + timedelta(days=FUTURE_DAYS - days)).replace(hour=0, minute=0, second=0)
        per_session = size["bookings"] // size["sessions"]
        capacity = per_session + 10

        began = time.perf_counter()
        session_rows = []
        for s in range(size["sessions"]):
            room = rooms[s % len(rooms)]
            slot = s // len(rooms)
            starts = first_day + timedelta(days=slot // SESSIONS_PER_DAY, hours=10 + 4 * (slot % SESSIONS_PER_DAY))
            confirmed = sum(
                1 for k in range(_per_session(size["bookings"], size["sessions"], s)) if k % CANCELLED_EVERY
            )
            session_rows.append(
                (
                    activities[s % len(activities)],
                    room,
                    starts,
                    starts + timedelta(hours=1),
                    capacity,
                    confirmed,
                    0,
                    "scheduled",
                    now,
                    now,
                    0,
                    0,
                )
            )
        columns = (
            "activity",
            "room",
            "starts_at",
            "ends_at",
            "capacity",
            "booked",
            "held",
            "status",
            "created_at",
            "updated_at",
            "setup_minutes",
            "cleardown_minutes",
        )
        await conn.copy_records_to_table("session", records=session_rows, columns=columns)
        session_ids = [
            row["id"]
            for row in await conn.fetch("SELECT id FROM session WHERE room = ANY($1::int[]) ORDER BY id", rooms)
        ]
        timings["sessions_s"] = round(time.perf_counter() - began, 1)

        began = time.perf_counter()
        first_resident = await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM resident")
        for start in range(0, size["residents"], CHUNK):
            rows = [
                (first_resident + n, f"Scale Resident {n}", f"scale-{n}@example.org", True, False, now, 1)
                for n in range(start, min(start + CHUNK, size["residents"]))
            ]
            await conn.copy_records_to_table(
                "resident",
                records=rows,
                columns=(
                    "id",
                    "name",
                    "email",
                    "contact_by_email",
                    "contact_by_sms",
                    "created_at",
                    "calendar_feed_version",
                ),
            )
        await conn.execute("SELECT setval(pg_get_serial_sequence('resident', 'id'), (SELECT max(id) FROM resident))")
        timings["residents_s"] = round(time.perf_counter() - began, 1)

        began = time.perf_counter()

        def bookings():
            n = 0
            for s, session_id in enumerate(session_ids):
                made = session_rows[s][8] - timedelta(days=1)
                for k in range(_per_session(size["bookings"], size["sessions"], s)):
                    resident = first_resident + (s * per_session + k) % size["residents"]
                    cancelled = k % CANCELLED_EVERY == 0
                    yield (
                        _reference(n),
                        session_id,
                        resident,
                        1,
                        "cancelled" if cancelled else "confirmed",
                        "online",
                        f"{n:064x}",
                        made,
                        made if cancelled else None,
                        "",
                        "",
                        "online",
                        "unmarked",
                    )
                    n += 1

        columns = (
            "reference",
            "session",
            "resident",
            "party_size",
            "status",
            "source",
            "manage_token_hash",
            "created_at",
            "cancelled_at",
            "cancel_reason",
            "support_note",
            "consent_source",
            "attendance",
        )
        chunk: list[tuple] = []
        for row in bookings():
            chunk.append(row)
            if len(chunk) == CHUNK:
                await conn.copy_records_to_table("booking", records=chunk, columns=columns)
                chunk = []
        if chunk:
            await conn.copy_records_to_table("booking", records=chunk, columns=columns)
        timings["bookings_s"] = round(time.perf_counter() - began, 1)

        began = time.perf_counter()
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM session s WHERE s.booked <> (SELECT coalesce(sum(party_size), 0) FROM booking b"
            " WHERE b.session = s.id AND b.status = 'confirmed') AND s.room = ANY($1::int[])",
            rooms,
        )
        if mismatched:
            raise RuntimeError(f"{mismatched} loaded sessions' booked differs from their confirmed places")
        # As a live database would be after autovacuum: statistics for the planner, and a visibility map
        # (index-only scans), so autovacuum does not start on the new rows while the timed loads run.
        await conn.execute("VACUUM (ANALYZE)")
        timings["check_and_vacuum_s"] = round(time.perf_counter() - began, 1)
        counts = {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in ("session", "resident", "booking")
        }
    finally:
        await conn.close()
    return {"factor": factor, "loaded": size, "rows": counts, "seconds": timings}


async def _booking_session(dsn: str) -> int:
    """A venue, room, activity and one big session in a week, for the sequential bookings (same on both)."""
    now = datetime.now(UTC).replace(microsecond=0)
    conn = await asyncpg.connect(dsn)
    try:
        venue = await conn.fetchval(
            "INSERT INTO venue (name, slug, address, postcode, time_zone, opening_hours, phone, accessibility,"
            " archived, created_at) VALUES ('Scale Bench Hall', 'scale-bench-hall', '1 Bench Street', 'ST1 1AA',"
            " 'Europe/London', '', '', '', false, $1) RETURNING id",
            now,
        )
        room = await conn.fetchval(
            "INSERT INTO room (venue, name, capacity, step_free_access, hearing_loop, accessible_toilet,"
            " accessibility_notes, archived) VALUES ($1, 'Hall', 1000000, true, false, false, '', false) RETURNING id",
            venue,
        )
        activity = await conn.fetchval(
            "INSERT INTO activity (title, slug, category, description, max_party_size, archived, waitlist_mode,"
            " reminder_hours, booking_opens_days, booking_closes_hours, max_active_bookings, default_capacity,"
            " default_duration_minutes) VALUES ('Scale bench', 'scale-bench', 'yoga_and_movement', '', 4, false,"
            " 'offer', '24,2', 28, 1, 0, 40, 60) RETURNING id"
        )
        starts = now + timedelta(days=7)
        return await conn.fetchval(
            "INSERT INTO session (activity, room, starts_at, ends_at, capacity, booked, held, status, created_at,"
            " updated_at, setup_minutes, cleardown_minutes) VALUES ($1, $2, $3, $4, 1000000, 0, 0, 'scheduled',"
            " now(), now(), 0, 0) RETURNING id",
            activity,
            room,
            starts,
            starts + timedelta(hours=1),
        )
    finally:
        await conn.close()


async def _demo_session(dsn: str) -> int:
    """The demo session the browse part uses (the same one on both databases: both have the demo)."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT s.id FROM session s JOIN activity a ON a.id = s.activity WHERE s.status = 'scheduled'"
            " AND s.starts_at > now() + interval '2 days' AND a.slug NOT LIKE 'scale-%' AND a.slug <> 'bench-rush'"
            " ORDER BY s.starts_at, s.id LIMIT 1"
        )
    finally:
        await conn.close()


async def sequential_bookings(base_url: str, session_id: int, count: int, first: int = 0) -> dict:
    """``count`` residents, one after another, each through the whole form flow."""
    latencies: list[float] = []
    errors: list[str] = []
    began = time.perf_counter()
    for n in range(count):
        start = time.perf_counter()
        try:
            outcome = await resident_books(base_url, session_id, 900_000 + first + n, [])
        except (Unexpected, OSError) as error:
            errors.append(f"{type(error).__name__}: {error}")
            continue
        if outcome != "booked":
            errors.append(f"not booked: {outcome}")
            continue
        latencies.append(time.perf_counter() - start)
    figures = summary(latencies, time.perf_counter() - began)
    figures["errors"] = len(errors)
    if errors:
        figures["note"] = f"{len(errors)} errors: {sorted(set(errors))[:3]}"
    return figures


@dataclass
class Target:
    """One database under test: its ``commons serve`` and what to ask it for."""

    name: str
    url: str
    demo_session: int
    booking_session: int
    rounds: dict[str, list[dict]] = field(default_factory=lambda: {part: [] for part in PARTS})


async def _round(target: Target, round_number: int) -> None:
    # A new search every request: the queries run each time, which is what could grow with the tables.
    target.rounds["whats_on"].append(await http_load(f"{target.url}/whats-on", CONCURRENCY, SECONDS, new_search=True))
    target.rounds["session_page"].append(
        await http_load(f"{target.url}/sessions/{target.demo_session}", CONCURRENCY, SECONDS)
    )
    first = round_number * BOOKINGS_PER_ROUND
    target.rounds["booking"].append(
        await sequential_bookings(target.url, target.booking_session, BOOKINGS_PER_ROUND, first)
    )


def _median_round(rounds: list[dict]) -> dict:
    """The round with the median p50, with every round's p50 beside it (other work on the machine comes and goes)."""
    chosen = dict(sorted(rounds, key=lambda figures: figures["p50_ms"])[len(rounds) // 2])
    chosen["rounds_p50_ms"] = [figures["p50_ms"] for figures in rounds]
    chosen["note"] = f"median of {len(rounds)} rounds; p50s {chosen['rounds_p50_ms']}"
    return chosen


async def _latencies(small_dsn: str, big_dsn: str, env: dict[str, str], logs: Path) -> tuple[dict, dict]:
    """Both servers up at once, measured in alternate turns, so busy spells on the machine hit both alike."""
    targets = []
    servers = []
    try:
        for name, dsn in (("small", small_dsn), ("big", big_dsn)):
            booking_session, demo_session = await _booking_session(dsn), await _demo_session(dsn)
            app = start_commons({**env, "COMMONS_DATABASE_URL": dsn}, logs / f"commons-scale-{name}.log")
            servers.append(app)
            targets.append(Target(name, app.url, demo_session, booking_session))
        for round_number in range(ROUNDS):
            print(f"scale: round {round_number + 1} of {ROUNDS}", flush=True)
            for target in targets if round_number % 2 == 0 else reversed(targets):
                await _round(target, round_number)
    finally:
        for app in servers:
            app.stop()
    small, big = ({part: _median_round(rounds) for part, rounds in target.rounds.items()} for target in targets)
    return small, big


def _ratios(small: dict, big: dict) -> dict:
    return {
        part: {
            key: round(big[part][key] / small[part][key], 2) if small[part][key] else None
            for key in ("p50_ms", "p99_ms")
        }
        for part in small
    }


def commons(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "commons"), *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


async def admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def measure(small_dsn: str, env: dict[str, str], logs: Path) -> dict:
    """Load a big database next to ``small_dsn`` (migrated, with the demo), measure both, drop the big one."""
    factor = scale_factor()
    name = f"commons_bench_scale_{os.getpid()}"
    big_dsn = database_url(name)
    big_env = {**env, "COMMONS_DATABASE_URL": big_dsn}
    asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        commons(big_env, "migrate")
        commons(big_env, "seed", "demo")
        print(f"scale: loading x{factor:g} ({sizes(factor)})", flush=True)
        began = time.perf_counter()
        loaded = asyncio.run(load(big_dsn, factor))
        loaded["total_s"] = round(time.perf_counter() - began, 1)
        print(f"scale: loaded in {loaded['total_s']} s; measuring both databases", flush=True)
        small, big = asyncio.run(_latencies(small_dsn, big_dsn, env, logs))
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    return {
        "load": loaded,
        "settings": {
            "concurrency": CONCURRENCY,
            "seconds": SECONDS,
            "rounds": ROUNDS,
            "bookings_per_round": BOOKINGS_PER_ROUND,
        },
        "small": small,
        "big": big,
        "ratio_big_to_small": _ratios(small, big),
    }


def main() -> int:
    """``python -m bench.scale``: a small database (migrate, demo) and a big one, measured; prints and writes."""
    name = f"commons_bench_{os.getpid()}"
    dsn = database_url(name)
    with tempfile.TemporaryDirectory(prefix="commons-bench-") as data_dir:
        env = {
            **os.environ,
            "COMMONS_DATABASE_URL": dsn,
            "COMMONS_DATA_DIR": data_dir,
            "COMMONS_BOOKING_RATE_LIMIT": "1000000",
        }
        env.pop("COMMONS_NATS_URL", None)
        report.RESULTS.mkdir(exist_ok=True)
        asyncio.run(admin(f"CREATE DATABASE {name}"))
        try:
            commons(env, "migrate")
            commons(env, "seed", "demo")
            results = {"scale": measure(dsn, env, report.RESULTS)}
        finally:
            asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    report.print_scale(results["scale"])
    print(f"\nwritten to {report.merge(results).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
