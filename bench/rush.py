"""The rush: residents booking one popular session through the real HTML forms, over HTTP.

Each resident has its own ``HttpClient`` (its own connection and cookies): GET the session page (CSRF token and
idempotency key), POST the details, POST "Confirm booking". A resident told the session is full joins
the waiting list from the page they were shown; if even that is refused, they were told it is full.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp

from bench.report import summary
from bench.servers import HttpClient, Reply, http_client

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
IDEMPOTENCY_INPUT = re.compile(r'name="idempotency_key" value="([^"]*)"')
CONFIRM_FORM = re.compile(r'<form[^>]*action="[^"]*/book/confirm".*?</form>', re.S)
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
WAITLIST_FORM = re.compile(r'action="[^"]*/waitlist"')
FULL = 409
MIN_RESIDENTS = 120  #: residents per level: at least three times the places, so most are turned away


#: one resident's journey: (base URL, session, resident number, deciding-request timings, request count) -> outcome
Journey = Callable[[str, int, int, list[float], "Counter[str] | None"], Awaitable[str]]


class Unexpected(Exception):
    """A response that is neither a step of the journey nor the expected "full"."""


def _details(resident: int) -> dict[str, str]:
    return {
        "name": f"Bench Resident {resident}",
        "email": f"bench-{resident}@example.org",
        "phone": "",
        "contact_email": "yes",
        "party_size": "1",
    }


def _token(page: str) -> str:
    match = CSRF_INPUT.search(page)
    if not match:
        raise Unexpected("no CSRF token on the page")
    return match.group(1)


async def _timed_post(http: HttpClient, url: str, data: dict, timings: list[float]) -> Reply:
    """A deciding request (confirm, or join the waiting list): its own latency goes into ``timings``."""
    start = time.perf_counter()
    response = await http.post(url, data=data)
    timings.append(time.perf_counter() - start)
    return response


async def _join_waitlist(http: HttpClient, session_id: int, page: str, details: dict, timings: list[float]) -> str:
    if not WAITLIST_FORM.search(page):
        return "full"  # told it is full and shown no waiting list
    response = await _timed_post(
        http, f"/sessions/{session_id}/waitlist", {**details, "_csrf_token": _token(page)}, timings
    )
    if response.status_code == 303:
        return "waitlisted"
    if response.status_code == FULL:
        return "full"
    raise Unexpected(f"waitlist {response.status_code}")


async def resident_books(
    base_url: str, session_id: int, resident: int, timings: list[float], requests: Counter[str] | None = None
) -> str:
    """One resident's whole journey; returns booked, waitlisted or full. Deciding requests' latencies
    are appended to ``timings``; the requests the journey made are counted in ``requests["made"]``."""
    async with http_client(base_url) as http:
        try:
            return await _journey(http, session_id, resident, timings)
        finally:
            if requests is not None:
                requests["made"] += http.requests


async def _journey(http: HttpClient, session_id: int, resident: int, timings: list[float]) -> str:
    details = _details(resident)
    page = await http.get(f"/sessions/{session_id}")
    if page.status_code != 200:
        raise Unexpected(f"session page {page.status_code}")
    key = IDEMPOTENCY_INPUT.search(page.text)
    if not key:  # full already: the page shows the waiting-list form instead
        return await _join_waitlist(http, session_id, page.text, details, timings)
    form = {**details, "idempotency_key": key.group(1), "_csrf_token": _token(page.text)}
    checked = await http.post(f"/sessions/{session_id}/book", data=form)
    if checked.status_code == FULL:
        return await _join_waitlist(http, session_id, checked.text, details, timings)
    match = CONFIRM_FORM.search(checked.text) if checked.status_code == 200 else None
    if not match:
        raise Unexpected(f"details {checked.status_code}")
    confirm = {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(match.group(0))}
    done = await _timed_post(http, f"/sessions/{session_id}/book/confirm", confirm, timings)
    if done.status_code == 303:
        return "booked"
    if done.status_code == FULL:
        return await _join_waitlist(http, session_id, done.text, details, timings)
    raise Unexpected(f"confirm {done.status_code}")


async def resident_books_by_api(
    base_url: str, session_id: int, resident: int, timings: list[float], requests: Counter[str] | None = None
) -> str:
    """The same decision through the JSON API (as a partner's app would make it): POST the booking, and on
    409 "full" POST the same details to the waiting list. Both requests are deciding ones."""
    details = {**_details(resident), "party_size": 1, "contact_by_email": True}
    del details["contact_email"]
    async with http_client(base_url) as http:
        try:
            start = time.perf_counter()
            booked = await http.post_json(f"/api/v1/sessions/{session_id}/bookings", details)
            timings.append(time.perf_counter() - start)
            if booked.status_code == 201:
                return "booked"
            if booked.status_code != FULL:
                raise Unexpected(f"API booking {booked.status_code}")
            start = time.perf_counter()
            waiting = await http.post_json(f"/api/v1/sessions/{session_id}/waitlist", details)
            timings.append(time.perf_counter() - start)
            if waiting.status_code == 201:
                return "waitlisted"
            raise Unexpected(f"API waiting list {waiting.status_code}")
        finally:
            if requests is not None:
                requests["made"] += http.requests


async def rush(
    base_url: str, session_id: int, concurrency: int, first_resident: int, journey: Journey = resident_books
) -> dict:
    """``max(concurrency, MIN_RESIDENTS)`` residents, ``concurrency`` of them at a time, each making
    ``journey`` (the HTML forms, unless told otherwise)."""
    residents = max(concurrency, MIN_RESIDENTS)
    gate = asyncio.Semaphore(concurrency)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    deciding: list[float] = []  #: the confirm and waiting-list POSTs alone
    errors: list[str] = []
    requests: Counter[str] = Counter()

    async def one(resident: int) -> None:
        async with gate:
            start = time.perf_counter()
            try:
                outcome = await journey(base_url, session_id, resident, deciding, requests)
            except (Unexpected, aiohttp.ClientError, TimeoutError) as error:
                errors.append(f"{type(error).__name__}: {error}")
                return
            latencies.append(time.perf_counter() - start)
            outcomes[outcome] += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(first_resident + n) for n in range(residents)))
    figures = summary(latencies, time.perf_counter() - began)
    deciding_figures = summary(deciding, 1.0)
    figures["deciding_request"] = {key: deciding_figures[key] for key in ("count", "p50_ms", "p95_ms", "p99_ms")}
    figures.update(residents=residents, errors=len(errors), error_samples=sorted(set(errors))[:5], **outcomes)
    figures["requests_per_decision"] = round(requests["made"] / max(1, residents - len(errors)), 2)
    figures["note"] = (
        f"booked {outcomes['booked']}, waitlisted {outcomes['waitlisted']}, full {outcomes['full']}, "
        f"errors {len(errors)}"
    )
    return figures
