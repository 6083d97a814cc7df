"""``make bench``: ceilings, rush, browse, events and scale against a fresh PostgreSQL database, in one run.

Creates ``commons_bench_<pid>``, migrates it and loads the demo, runs every part (or those named with
``--only ceilings,rush,browse,events,scale``), prints a table and the targets, writes
``bench/results/latest.json``, then drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench import events, report, scale
from bench.browse import CHANGE_RATES, browse, whats_on_while_changing
from bench.ceilings import http_load, raw_transaction
from bench.pieces import pieces
from bench.rush import resident_books_by_api, rush
from bench.servers import BIN, ROOT, start_commons, start_static

ADMIN_URL = os.environ.get("COMMONS_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LEVELS = (16, 64, 256)
SECONDS = 3.0  #: each timed load (ceilings and browse) runs this long per level
CAPACITY = 40
CEILING_RESIDENTS = 200_000  #: more than the raw ceiling can book in its timed runs
PARTS = ("ceilings", "rush", "browse", "events", "scale")


def _database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def _fixtures(dsn: str) -> dict:
    """A venue, a big room and an activity for the bench's own sessions, and one resident for the ceiling."""
    conn = await asyncpg.connect(dsn)
    try:
        now = datetime.now(UTC)
        venue = await conn.fetchval(
            "INSERT INTO venue (name, slug, address, postcode, time_zone, opening_hours, phone, accessibility,"
            " archived, created_at) VALUES ('Bench Hall', 'bench-hall', '1 Bench Street', 'ST1 1AA',"
            " 'Europe/London', '', '', '', false, $1) RETURNING id",
            now,
        )
        room = await conn.fetchval(
            "INSERT INTO room (venue, name, capacity, step_free_access, hearing_loop, accessible_toilet,"
            " accessibility_notes, archived) VALUES ($1, 'Main hall', 1000000, true, false, false, '', false)"
            " RETURNING id",
            venue,
        )
        activity = await conn.fetchval(
            "INSERT INTO activity (title, slug, category, description, max_party_size, archived, waitlist_mode,"
            " reminder_hours, booking_opens_days, booking_closes_hours, max_active_bookings, default_capacity,"
            " default_duration_minutes) VALUES ('Bench rush', 'bench-rush', 'yoga_and_movement', '', 4, false,"
            " 'offer', '24,2', 28, 1, 0, 40, 60) RETURNING id"
        )
        first_resident = await conn.fetchval(
            "WITH made AS (INSERT INTO resident (name, email, contact_by_email, contact_by_sms, created_at,"
            " calendar_feed_version) SELECT 'Ceiling ' || n, 'ceiling-' || n || '@example.org', true, false, $1, 1"
            " FROM generate_series(1, $2) AS n RETURNING id) SELECT min(id) FROM made",
            now,
            CEILING_RESIDENTS,
        )
        browse_session = await conn.fetchval(
            "SELECT id FROM session WHERE status = 'scheduled' AND starts_at > now() + interval '2 days'"
            " AND activity <> $1 ORDER BY starts_at LIMIT 1",
            activity,
        )
        return {
            "activity": activity,
            "room": room,
            "residents": range(first_resident, first_resident + CEILING_RESIDENTS),
            "browse_session": browse_session,
        }
    finally:
        await conn.close()


async def _new_session(dsn: str, fixtures: dict, capacity: int, slot: int) -> int:
    """A session of the bench activity in its own room, two hours apart from the others (no clash)."""
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, hours=2 * slot)
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "INSERT INTO session (activity, room, starts_at, ends_at, capacity, booked, held, status, created_at,"
            " updated_at, setup_minutes, cleardown_minutes) VALUES ($1, $2, $3, $4, $5, 0, 0, 'scheduled', now(),"
            " now(), 0, 0) RETURNING id",
            fixtures["activity"],
            fixtures["room"],
            starts,
            starts + timedelta(hours=1),
            capacity,
        )
    finally:
        await conn.close()


async def _invariant(dsn: str, session_id: int) -> dict:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT s.capacity, s.booked, s.held,"
            " (SELECT coalesce(sum(party_size), 0) FROM booking b WHERE b.session = s.id AND b.status = 'confirmed')"
            " AS confirmed,"
            " (SELECT count(*) FROM waitlist_entry w WHERE w.session = s.id) AS waiting"
            " FROM session s WHERE s.id = $1",
            session_id,
        )
    finally:
        await conn.close()
    figures = dict(row)
    figures["holds"] = figures["confirmed"] == figures["capacity"] == figures["booked"]
    return figures


def _commons(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "commons"), *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def _machine(dsn_version: str) -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": dsn_version,
        # Other work on the machine skews every figure: a load average above the CPU count means contention.
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


async def measure(dsn: str, env: dict[str, str], logs: Path, parts: tuple[str, ...] = PARTS) -> dict:
    fixtures = await _fixtures(dsn)
    conn = await asyncpg.connect(dsn)
    pg_version = await conn.fetchval("SHOW server_version")
    await conn.close()
    results: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(pg_version),
        "settings": {"levels": LEVELS, "seconds_per_timed_load": SECONDS, "rush_capacity": CAPACITY},
        "parts": list(parts),
    }
    if "ceilings" in parts:
        results["ceilings"] = await _ceilings(dsn, fixtures, logs)
    if "rush" in parts or "browse" in parts:
        app = start_commons(env, logs / "commons.log")
        try:
            if "rush" in parts:
                results["rush"] = await _rush(dsn, fixtures, app.url)
                results["rush_warm_up"] = results["rush"].pop("warm_up")
                results["rush_api"] = results["rush"].pop("api")
            if "browse" in parts:
                results["browse"] = await _browse(dsn, fixtures, app.url)
        finally:
            app.stop()
    if "events" in parts:
        results["events"] = await events.measure(dsn, env, logs, fixtures)
    return results


async def _ceilings(dsn: str, fixtures: dict, logs: Path) -> dict:
    figures: dict = {"raw_transaction": {}, "static_template": {}}
    ceiling_session = await _new_session(dsn, fixtures, 1_000_000, slot=0)
    residents = iter(fixtures["residents"])
    for level in LEVELS:
        print(f"raw transaction ceiling, {level} concurrent", flush=True)
        figures["raw_transaction"][str(level)] = await raw_transaction(dsn, ceiling_session, residents, level, SECONDS)
    static = start_static(logs / "static.log")
    try:
        for level in LEVELS:
            print(f"static template ceiling, {level} concurrent", flush=True)
            figures["static_template"][str(level)] = await http_load(static.url + "/", level, SECONDS)
    finally:
        static.stop()
    return figures


async def _rush(dsn: str, fixtures: dict, url: str) -> dict:
    figures: dict = {}
    # The server has just started: the first bookings compile templates and queries and open pool
    # connections. One unmeasured rush on its own session first, as the ceilings warm up in their
    # first second; the cold figures are kept beside the measured ones.
    print("rush, warm-up (not measured)", flush=True)
    warm_slot = len(LEVELS) + 1
    warm_session = await _new_session(dsn, fixtures, CAPACITY, warm_slot)
    warm = await rush(url, warm_session, LEVELS[0], first_resident=warm_slot * 100_000)
    figures["warm_up"] = {"deciding_request": warm["deciding_request"], "journey_p99_ms": warm["p99_ms"]}
    for slot, level in enumerate(LEVELS, start=1):
        print(f"rush, {level} concurrent residents", flush=True)
        session_id = await _new_session(dsn, fixtures, CAPACITY, slot)
        figures[str(level)] = await rush(url, session_id, level, first_resident=slot * 100_000)
        figures[str(level)]["invariant"] = await _invariant(dsn, session_id)
    # The same rush through the JSON API: one request per booking (two for those sent to the waiting
    # list). Not a target; it shows what the booking path costs without the forms journey around it.
    figures["api"] = {}
    for slot, level in enumerate(LEVELS, start=warm_slot + 1):
        print(f"rush through the JSON API, {level} concurrent residents", flush=True)
        session_id = await _new_session(dsn, fixtures, CAPACITY, slot)
        by_api = await rush(url, session_id, level, first_resident=slot * 100_000, journey=resident_books_by_api)
        figures["api"][str(level)] = {**by_api, "invariant": await _invariant(dsn, session_id)}
    return figures


async def _browse(dsn: str, fixtures: dict, url: str) -> dict:
    figures: dict = {"whats_on": {}, "whats_on_new_search": {}, "session_page": {}}
    for level in LEVELS:
        print(f"browse, {level} concurrent", flush=True)
        for page, by_level in (await browse(url, fixtures["browse_session"], level, SECONDS)).items():
            figures[page][str(level)] = by_level
    figures["whats_on_while_changing"] = {}
    for rate in CHANGE_RATES:
        print(f"What's on, {LEVELS[0]} concurrent, while sessions change {rate} times a second", flush=True)
        figures["whats_on_while_changing"][str(rate)] = await whats_on_while_changing(
            url, dsn, fixtures["browse_session"], rate, LEVELS[0], SECONDS
        )
    print("What's on, piece by piece", flush=True)
    figures["whats_on_pieces"] = await pieces(dsn)
    return figures


def _parts(argv: list[str] | None) -> tuple[str, ...]:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {','.join(PARTS)}")
    chosen = tuple(part.strip() for part in parser.parse_args(argv).only.split(",") if part.strip())
    unknown = [part for part in chosen if part not in PARTS]
    if unknown or not chosen:
        parser.error(f"unknown part(s) {unknown}; choose from {','.join(PARTS)}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parts = _parts(argv)
    name = f"commons_bench_{os.getpid()}"
    dsn = _database_url(name)
    with tempfile.TemporaryDirectory(prefix="commons-bench-") as data_dir:
        env = {
            **os.environ,
            "COMMONS_DATABASE_URL": dsn,
            "COMMONS_DATA_DIR": data_dir,
            "COMMONS_BOOKING_RATE_LIMIT": "1000000",  # one client address plays every resident
        }
        env.pop("COMMONS_NATS_URL", None)  # the web app does not wait on NATS; events starts its own server
        env.pop("COMMONS_SMTP_URL", None)
        logs = report.RESULTS
        logs.mkdir(exist_ok=True)
        asyncio.run(_admin(f"CREATE DATABASE {name}"))
        try:
            _commons(env, "migrate")
            _commons(env, "seed", "demo")
            results = asyncio.run(measure(dsn, env, logs, parts))
            if "scale" in parts:
                results["scale"] = scale.measure(dsn, env, logs)
        finally:
            asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    results["machine"]["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    bound = report.rush_bound(results)
    if bound is not None:
        results["rush_bound"] = bound
    results["targets"] = report.targets(results)
    report.print_table(results)
    written = report.write(results) if parts == PARTS else report.merge(results)
    print(f"\nwritten to {written.relative_to(ROOT)}")
    rushes = [*results.get("rush", {}).items(), *(("api " + k, v) for k, v in results.get("rush_api", {}).items())]
    broken = [level for level, fig in rushes if not fig["invariant"]["holds"]]
    if broken:
        print(f"INVARIANT BROKEN at {broken}", file=sys.stderr)
        return 1
    return 0


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
