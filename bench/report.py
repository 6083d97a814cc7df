"""Figures from raw timings, the printed table, the targets and ``bench/results/latest.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds (samples are seconds)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


def summary(latencies: list[float], elapsed: float, count: int | None = None) -> dict:
    done = len(latencies) if count is None else count
    return {
        "count": done,
        "seconds": round(elapsed, 3),
        "per_second": round(done / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }


SCALE_RATIO_LIMIT = 1.5  #: p50 on the big database at most this many times the small one's


def targets(results: dict) -> list[dict]:
    """The issue's targets, each from figures measured in this same run (only for the parts that ran)."""
    checks = []
    rush, raw = results.get("rush"), results.get("ceilings", {}).get("raw_transaction")
    if rush and raw:
        for level in rush:
            ratio = rush[level]["per_second"] / raw[level]["per_second"]
            checks.append(_check(f"rush decisions/s >= 0.25 x raw ceiling at {level}", ratio, 0.25, "x"))
    static, whats_on = results.get("ceilings", {}).get("static_template"), results.get("browse", {}).get("whats_on")
    if static and whats_on:
        for level in whats_on:
            ratio = whats_on[level]["per_second"] / static[level]["per_second"]
            checks.append(_check(f"What's on req/s >= 0.5 x static ceiling at {level}", ratio, 0.5, "x"))
    if rush and "16" in rush:
        # The booking is the request that decides (confirm, or join the waiting list); the whole journey's
        # p99 (page, details, confirm) is in the rush table beside it (docs/decisions.md).
        deciding = rush["16"]["deciding_request"]["p99_ms"]
        checks.append(_check("booking request p99 <= 150 ms at 16 concurrent", deciding, 150, "ms", at_most=True))
    paced = results.get("events", {}).get("paced", {})
    if "10" in paced:
        checks.append(_check("event p99 <= 250 ms at 10 bookings/s", paced["10"]["p99_ms"], 250, "ms", at_most=True))
    for part, ratio in results.get("scale", {}).get("ratio_big_to_small", {}).items():
        checks.append(
            _check(
                f"scale: {part} p50 big/small <= {SCALE_RATIO_LIMIT}",
                ratio["p50_ms"],
                SCALE_RATIO_LIMIT,
                "x",
                at_most=True,
            )
        )
    return checks


def _check(name: str, value: float, limit: float, unit: str, at_most: bool = False) -> dict:
    met = value <= limit if at_most else value >= limit
    return {"target": name, "value": round(value, 3), "limit": limit, "unit": unit, "result": "PASS" if met else "MISS"}


def _rows(title: str, by_level: dict, label: str = "conc") -> None:
    width = max(5, *(len(str(level)) for level in by_level))
    print(f"\n{title}")
    print(f"  {label:>{width}} {'count':>7} {'per s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for level, fig in by_level.items():
        more = fig.get("note", "")
        print(
            f"  {level:>{width}} {fig['count']:>7} {fig['per_second']:>9.1f} {fig['p50_ms']:>8.1f}"
            f" {fig['p95_ms']:>8.1f} {fig['p99_ms']:>8.1f}  {more}"
        )


def print_events(events: dict) -> None:
    _rows(
        "Events: booking commit -> confirmation accepted by SMTP (paced; per s = bookings/s made)",
        events["paced"],
        label="rate",
    )
    _rows("Events: rush, then the backlog drains (per s = bookings/s made)", {"rush": events["rush"]}, label="")
    for part, limit in events["limits"].items():
        print(f"  {part}: {limit}")


def print_scale(scale: dict) -> None:
    load = scale["load"]
    print(f"\nScale: x{load['factor']:g}, rows {load['rows']}, loaded in {load['total_s']} s {load['seconds']}")
    for name in ("small", "big"):
        _rows(
            f"Scale: {name} database (browse {scale['settings']['concurrency']} concurrent; booking one at a time)",
            scale[name],
            label="",
        )
    print(
        "\n  big / small: "
        + ", ".join(
            f"{part} p50 x{ratio['p50_ms']} p99 x{ratio['p99_ms']}"
            for part, ratio in scale["ratio_big_to_small"].items()
        )
    )


def rush_bound(results: dict, level: str = "16") -> dict | None:
    """What the rush could reach if every request of the journey cost only what the session page GET costs.

    A decision is ``r`` requests (session page, details, confirm; or page and waiting list) and one booking
    transaction. In machine time (cores / rate), with every request priced at the session page's cost:
    ``raw_ms / (r * page_ms)`` if the transaction came free inside one of them, and
    ``raw_ms / (raw_ms + r * page_ms)`` if it costs what the raw ceiling's transaction costs on top. The session
    page is the cheapest step (one query and a page; the others parse a form, check CSRF, read and write the
    session, and the deciding one runs the booking transaction), so these are estimates of the most a
    journey of this length can reach on this machine, not measurements of it.
    """
    raw = results.get("ceilings", {}).get("raw_transaction", {}).get(level)
    page = results.get("browse", {}).get("session_page", {}).get(level)
    rush = results.get("rush", {}).get(level)
    if not (raw and page and rush and rush.get("requests_per_decision")):
        return None
    cores = results["machine"]["cpus"]
    raw_ms, page_ms = cores * 1000 / raw["per_second"], cores * 1000 / page["per_second"]
    r = rush["requests_per_decision"]
    return {
        "level": level,
        "requests_per_decision": r,
        "raw_transaction_machine_ms": round(raw_ms, 3),
        "session_page_machine_ms": round(page_ms, 3),
        "ratio_if_transaction_free": round(raw_ms / (r * page_ms), 3),
        "ratio_with_transaction": round(raw_ms / (raw_ms + r * page_ms), 3),
        "measured_ratio": round(rush["per_second"] / raw["per_second"], 3),
    }


def print_rush_bound(bound: dict) -> None:
    print(
        f"\nRush at {bound['level']}, if every request cost only a session page: {bound['requests_per_decision']}"
        f" requests per decision at {bound['session_page_machine_ms']} ms of the machine each, against"
        f" {bound['raw_transaction_machine_ms']} ms for the raw transaction: {bound['ratio_with_transaction']} x"
        f" the raw ceiling ({bound['ratio_if_transaction_free']} x if the booking transaction came free);"
        f" measured {bound['measured_ratio']} x"
    )


def print_pieces(pieces: dict, static: dict | None) -> None:
    """What's on's own work, one call at a time in one process, beside what a static request costs."""
    print("\nWhat's on, piece by piece (one process, one call at a time; ms per call)")
    print(
        f"  {pieces['sessions_on_page']} sessions, {pieces['page_bytes']} bytes of HTML;"
        f" queries {pieces['queries_ms']} ms ({pieces['queries_python_cpu_ms']} ms of it Python CPU),"
        f" render {pieces['render_ms']} ms, gzip {pieces['gzip_ms']} ms"
    )
    if static and "16" in static:
        machine_ms = 2 * 1000 / static["16"]["per_second"]  # two cores' time per static request, client included
        own = pieces["queries_python_cpu_ms"] + pieces["render_ms"] + pieces["gzip_ms"]
        print(
            f"  a static request takes {machine_ms:.2f} ms of the two cores (client included); What's on adds at least"
            f" {own:.2f} ms of Python CPU, plus PostgreSQL's share of {pieces['queries_ms']} ms:"
            f" best case {machine_ms / (machine_ms + own):.2f} x the static ceiling before PostgreSQL"
        )


def print_table(results: dict) -> None:
    ceilings = results.get("ceilings", {})
    if ceilings.get("raw_transaction"):
        _rows("Ceiling (a): raw booking transaction, asyncpg, pool 10 (transactions/s)", ceilings["raw_transaction"])
    if ceilings.get("static_template"):
        _rows("Ceiling (b): Litestar + one static Jinja template, uvicorn (requests/s)", ceilings["static_template"])
    if results.get("rush"):
        _rows("Rush: whole booking over HTTP, capacity 40 (decisions/s)", results["rush"])
        _rows(
            "Rush: the deciding request alone (confirm, or join the waiting list)",
            {
                level: {**fig["deciding_request"], "per_second": fig["deciding_request"]["count"] / fig["seconds"]}
                for level, fig in results["rush"].items()
            },
        )
    if results.get("rush_warm_up"):
        cold = results["rush_warm_up"]["deciding_request"]
        print(
            f"\nRush warm-up on the just-started server (not measured): deciding request p50 {cold['p50_ms']} ms,"
            f" p99 {cold['p99_ms']} ms over {cold['count']} requests"
        )
    if results.get("rush_bound"):
        print_rush_bound(results["rush_bound"])
    if results.get("rush_api"):
        raw = ceilings.get("raw_transaction", {})
        _rows(
            "Rush through the JSON API: the same decision in one request, two for the waiting list (decisions/s)",
            {
                level: {
                    **fig,
                    "note": fig["note"]
                    + (f"; {fig['per_second'] / raw[level]['per_second']:.3f} x raw" if level in raw else ""),
                }
                for level, fig in results["rush_api"].items()
            },
        )
    if results.get("browse"):
        _rows("Browse: GET /whats-on (requests/s)", results["browse"]["whats_on"])
        if "whats_on_while_changing" in results["browse"]:
            static16 = ceilings.get("static_template", {}).get("16")
            _rows(
                "Browse: GET /whats-on at 16 while sessions change (each change forgets every kept page)",
                {
                    f"{rate}/s": {
                        **fig,
                        "note": fig["note"]
                        + (f"; {fig['per_second'] / static16['per_second']:.3f} x static" if static16 else ""),
                    }
                    for rate, fig in results["browse"]["whats_on_while_changing"].items()
                },
                label="changes",
            )
        if "whats_on_new_search" in results["browse"]:
            _rows(
                "Browse: GET /whats-on, a new search every request, so nothing kept answers (requests/s)",
                results["browse"]["whats_on_new_search"],
            )
        _rows("Browse: GET /sessions/{id} (requests/s)", results["browse"]["session_page"])
        if "whats_on_pieces" in results["browse"]:
            print_pieces(results["browse"]["whats_on_pieces"], results.get("ceilings", {}).get("static_template"))
    if results.get("events"):
        print_events(results["events"])
    if results.get("scale"):
        print_scale(results["scale"])
    machine = results["machine"]
    print(
        f"\nLoad average (1, 5, 15 min) at start {machine['load_average_at_start']}, at end {machine['load_average_at_end']}"
    )
    print("\nTargets")
    for check in results["targets"]:
        print(f"  {check['result']:<4}  {check['target']}: {check['value']} {check['unit']} (limit {check['limit']})")


def write(results: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def merge(figures: dict) -> Path:
    """Put the parts that ran into ``latest.json``, keeping the other parts of an earlier run there."""
    path = RESULTS / "latest.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results.update(figures)
    results["targets"] = targets(results)
    return write(results)
