"""A running Commons web app on each database engine, and helpers to drive its forms."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from commons.settings import Settings, load_settings
from web.app import create_app

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def web_settings(db, data_dir: Path, **extra: str) -> Settings:
    """Kept What's on pages are off unless a test asks (tests/web/test_listing_cache.py): a test writes and
    reads back within microseconds on one event loop, sooner than the LISTEN connection may have read the
    change's notification, which a browser's next request never is."""
    return load_settings(
        {
            "COMMONS_ENV": "test",
            "COMMONS_DATABASE_URL": db.url,
            "COMMONS_DATA_DIR": str(data_dir),
            "COMMONS_LISTING_CACHE_SECONDS": "0",
            **extra,
        }
    )


RATE_LIMIT_STORE = "rate_limit"
_apps: dict[Settings, Litestar] = {}


def app_for(settings: Settings) -> Litestar:
    """One app per settings for the whole run: building one (230 route handlers) takes most of a second.

    Each test still runs the app's lifespan (its own database pool and live-places hub) and starts with
    an empty rate-limit count; sessions live where production keeps them (web/session_store.py).
    """
    if settings not in _apps:
        _apps[settings] = create_app(settings)
    return _apps[settings]


@asynccontextmanager
async def browser(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app, lifespan and all, on this test's event loop, with a cookie-keeping client.

    Not litestar.testing.AsyncTestClient: it runs the lifespan on another thread's event loop
    (litestar#1920), so the asyncpg pool the lifespan opens cannot serve the requests.
    """
    app = app_for(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:  # its own task: pytest-asyncio tears fixtures down in another one
        async with app.lifespan():
            started.set()
            await stop.wait()

    lifespan = asyncio.create_task(run_lifespan())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({lifespan, ready}, return_when=asyncio.FIRST_COMPLETED)
    if lifespan.done():
        ready.cancel()
        lifespan.result()  # start-up failed: raise its error here
    try:
        # After start-up: on PostgreSQL the counts are in the app's database, which the lifespan connects.
        await app.stores.get(RATE_LIMIT_STORE).delete_all()  # each test starts with no attempts counted
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield client
    finally:
        stop.set()
        await lifespan


@pytest.fixture
async def client(db, data_dir):
    async with browser(web_settings(db, data_dir)) as test_client:
        yield test_client


@pytest.fixture
async def other_client(db, data_dir, client):
    """A second browser, with its own cookies, against the same app settings."""
    async with browser(web_settings(db, data_dir)) as test_client:
        yield test_client


async def csrf_token(client: httpx.AsyncClient, page: str) -> str:
    """Load a page as a browser would, returning the token its forms carry."""
    response = await client.get(page)
    assert response.status_code == 200, response.text
    match = CSRF_INPUT.search(response.text)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


IDEMPOTENCY_INPUT = re.compile(r'name="idempotency_key" value="([^"]*)"')
CONFIRM_FORM = re.compile(r'<form[^>]*action="[^"]*/book/confirm".*?</form>', re.S)
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def form_key(page: str) -> str:
    """The idempotency key a booking form carries."""
    match = IDEMPOTENCY_INPUT.search(page)
    assert match, "the page has no booking form"
    return match.group(1)


def confirm_form_fields(page: str) -> dict[str, str]:
    """What the check-your-answers page's "Confirm booking" form sends."""
    match = CONFIRM_FORM.search(page)
    assert match, "the page has no Confirm booking form"
    return {name: html.unescape(value) for name, value in HIDDEN_INPUT.findall(match.group(0))}


async def check_answers(client: httpx.AsyncClient, session_id: int, headers: dict | None = None, **fields):
    """Fill in the booking form and continue: the check-your-answers page (or the form with errors)."""
    page = await client.get(f"/sessions/{session_id}")
    assert page.status_code == 200, page.text
    token = CSRF_INPUT.search(page.text)
    assert token, "the page has no form with a CSRF token"
    form = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "",
        "contact_email": "yes",
        "party_size": "1",
        "idempotency_key": form_key(page.text) if IDEMPOTENCY_INPUT.search(page.text) else "",
        **fields,
    }
    return await client.post(
        f"/sessions/{session_id}/book", data={**form, "_csrf_token": token.group(1)}, headers=headers or {}
    )


async def confirm_answers(client: httpx.AsyncClient, session_id: int, page: str, headers: dict | None = None):
    """Press "Confirm booking" on a check-your-answers page."""
    return await client.post(
        f"/sessions/{session_id}/book/confirm", data=confirm_form_fields(page), headers=headers or {}
    )


async def submit_booking(client: httpx.AsyncClient, session_id: int, headers: dict | None = None, **fields):
    """Book through the whole journey: the form, check your answers, confirm. Returns the last response:
    the form with errors if the first step refused, else the answer to "Confirm booking"."""
    checked = await check_answers(client, session_id, headers, **fields)
    if checked.status_code != 200 or "/book/confirm" not in checked.text:
        return checked
    return await confirm_answers(client, session_id, checked.text, headers)


async def submit_waitlist(client: httpx.AsyncClient, session_id: int, headers: dict | None = None, **fields):
    """Join a session's waiting list through the form its page shows when it is full."""
    token = await csrf_token(client, f"/sessions/{session_id}")
    form = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "",
        "contact_email": "yes",
        "party_size": "1",
        **fields,
    }
    return await client.post(
        f"/sessions/{session_id}/waitlist", data={**form, "_csrf_token": token}, headers=headers or {}
    )
