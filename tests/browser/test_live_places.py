"""Places left, live in a real browser: a booking made by another client changes the open page within a second."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

LIVE_WITHIN_MS = 1000


def places_text(places_left: int) -> str:
    return "1 place left" if places_left == 1 else f"{places_left} places left"


async def a_session_with_places(base_url: str, at_least: int) -> dict:
    async with httpx.AsyncClient(base_url=base_url) as api:
        sessions = (await api.get("/api/v1/sessions/", params={"limit": 200})).json()
    return next(s for s in sessions if s["status"] == "scheduled" and s["places_left"] >= at_least)


async def test_a_booking_from_another_client_changes_the_places_shown_within_a_second(browser, commons_up):
    session = await a_session_with_places(commons_up, at_least=3)
    before = session["places_left"]
    context = await browser.new_context()
    page = await context.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked, as chromium reports it
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    async with page.expect_response(lambda r: r.url.endswith(f"/sessions/{session['id']}/places")) as stream:
        await page.goto(f"{commons_up}/sessions/{session['id']}")
    assert (await stream.value).headers["content-type"].startswith("text/event-stream")
    places = page.locator("#places-left")
    await expect(places).to_have_text(places_text(before))

    async with httpx.AsyncClient(base_url=commons_up) as other_client:
        booked = await other_client.post(
            f"/api/v1/sessions/{session['id']}/bookings",
            json={"name": "Grace Hopper", "email": f"grace.{uuid.uuid4().hex[:8]}@example.org", "party_size": 2},
        )
    answered = time.monotonic()
    assert booked.status_code == 201, booked.text

    await expect(places).to_have_text(places_text(before - 2), timeout=LIVE_WITHIN_MS)
    assert time.monotonic() - answered < LIVE_WITHIN_MS / 1000
    await expect(places).to_have_attribute("aria-live", "polite")
    assert await axe_violations(page) == []
    assert refused == []
    await context.close()


async def test_without_javascript_the_page_shows_the_places_left_on_load(browser, commons_up):
    session = await a_session_with_places(commons_up, at_least=1)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{commons_up}/sessions/{session['id']}")
    await expect(page.locator("#places-left")).to_have_text(places_text(session["places_left"]))
    await context.close()
