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


def targets(results: dict) -> list[dict]:
    """The issue's targets, each from figures measured in this same run."""
    rush, raw = results["rush"], results["ceilings"]["raw_transaction"]
    static, whats_on = results["ceilings"]["static_template"], results["browse"]["whats_on"]
    checks = []
    for level in rush:
        ratio = rush[level]["per_second"] / raw[level]["per_second"]
        checks.append(_check(f"rush decisions/s >= 0.25 x raw ceiling at {level}", ratio, 0.25, "x"))
    for level in whats_on:
        ratio = whats_on[level]["per_second"] / static[level]["per_second"]
        checks.append(_check(f"What's on req/s >= 0.5 x static ceiling at {level}", ratio, 0.5, "x"))
    checks.append(_check("booking p99 <= 150 ms at 16 concurrent", rush["16"]["p99_ms"], 150, "ms", at_most=True))
    return checks


def _check(name: str, value: float, limit: float, unit: str, at_most: bool = False) -> dict:
    met = value <= limit if at_most else value >= limit
    return {"target": name, "value": round(value, 3), "limit": limit, "unit": unit, "result": "PASS" if met else "MISS"}


def print_table(results: dict) -> None:
    def rows(title: str, by_level: dict, extra: str = "") -> None:
        print(f"\n{title}")
        print(f"  {'conc':>5} {'count':>7} {'per s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  {extra}")
        for level, fig in by_level.items():
            more = fig.get("note", "")
            print(
                f"  {level:>5} {fig['count']:>7} {fig['per_second']:>9.1f} {fig['p50_ms']:>8.1f}"
                f" {fig['p95_ms']:>8.1f} {fig['p99_ms']:>8.1f}  {more}"
            )

    rows(
        "Ceiling (a): raw booking transaction, asyncpg, pool 10 (transactions/s)",
        results["ceilings"]["raw_transaction"],
    )
    rows(
        "Ceiling (b): Litestar + one static Jinja template, uvicorn (requests/s)",
        results["ceilings"]["static_template"],
    )
    rows("Rush: whole booking over HTTP, capacity 40 (decisions/s)", results["rush"])
    rows("Browse: GET /whats-on (requests/s)", results["browse"]["whats_on"])
    rows("Browse: GET /sessions/{id} (requests/s)", results["browse"]["session_page"])
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
