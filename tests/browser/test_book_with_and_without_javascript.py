"""The whole booking journey in real Chromium, with and without JavaScript: form, check your answers,
confirmation; a double click on "Confirm booking" makes one booking; no accessibility violations."""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

JS = pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])


async def bookable_session(page: Page, base_url: str, places: int = 2) -> int:
    """A demo session with places whose booking is open now (its page shows the booking form)."""
    soon = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    response = await page.request.get(f"{base_url}/api/v1/sessions", params={"from": soon, "limit": "100"})
    for session in await response.json():
        if session["places_left"] < places:
            continue
        html = await (await page.request.get(f"{base_url}/sessions/{session['id']}")).text()
        if f'action="/sessions/{session["id"]}/book"' in html:
            return session["id"]
    raise AssertionError("no demo session is open for booking")


def bookings_for(data_dir, email: str) -> list[str]:
    """The references of the bookings made with an e-mail address, straight from commons up's database."""
    with sqlite3.connect(f"file:{data_dir}/commons.sqlite3?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT booking.reference FROM booking JOIN resident ON resident.id = booking.resident "
            "WHERE resident.email = ?",
            (email,),
        ).fetchall()
    return [row[0] for row in rows]


async def fill_in(page: Page, *, email: str, places: str = "2") -> None:
    await page.get_by_label("Full name").fill("Florence Nightingale")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label(re.compile("Number of places")).fill(places)
    await page.get_by_label(re.compile("Access or support needs")).fill("I need a chair with arms")


async def check_answers(page: Page) -> None:
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Check your answers before booking")).to_be_visible()
    await expect(page).to_have_title(re.compile("^Check your answers before booking"))


async def reference_shown(page: Page) -> str:
    await expect(page.get_by_role("heading", level=1)).to_have_text("Booking confirmed")
    match = re.search(r"\b[A-Z0-9]{3}-[A-Z0-9]{3}\b", await page.locator(".reference").inner_text())
    assert match, "the confirmation page shows no booking reference"
    return match.group(0)


@JS
async def test_book_through_check_your_answers(browser, commons_up, commons_up_dir, javascript):
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    session_id = await bookable_session(page, commons_up)
    await page.goto(f"{commons_up}/sessions/{session_id}")
    email = f"florence.{uuid.uuid4().hex[:8]}@example.org"
    await fill_in(page, email=email, places="1")
    await check_answers(page)
    main = page.locator("main")
    await expect(main).to_contain_text("Florence Nightingale")
    await expect(main).to_contain_text("I need a chair with arms")

    # Change the number of places: the form comes back filled in.
    await page.get_by_role("button", name="Change number of places").click()
    await expect(page.get_by_label("Full name")).to_have_value("Florence Nightingale")
    await expect(page.get_by_label(re.compile("Access or support needs"))).to_have_value("I need a chair with arms")
    await page.get_by_label(re.compile("Number of places")).fill("2")
    await check_answers(page)
    await page.get_by_role("button", name="Confirm booking").click()

    reference = await reference_shown(page)
    await expect(page.get_by_role("link", name="Add to calendar")).to_be_visible()
    assert bookings_for(commons_up_dir, email) == [reference]
    await context.close()


@JS
async def test_a_double_click_on_confirm_makes_one_booking(browser, commons_up, commons_up_dir, javascript):
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    session_id = await bookable_session(page, commons_up)
    await page.goto(f"{commons_up}/sessions/{session_id}")
    email = f"double.{uuid.uuid4().hex[:8]}@example.org"
    await fill_in(page, email=email, places="1")
    await check_answers(page)
    await page.get_by_role("button", name="Confirm booking").dblclick()
    reference = await reference_shown(page)
    assert bookings_for(commons_up_dir, email) == [reference]
    await context.close()


@JS
async def test_errors_are_summarised_and_the_journey_has_no_accessibility_violations(browser, commons_up, javascript):
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    checked: dict[str, list] = {}

    async def axe(name: str) -> None:
        # axe-core runs as a script in the page, so it can only check pages with JavaScript on; the pages
        # without it are the same HTML, reached by plain posts instead of htmx swaps.
        if javascript:
            checked[name] = await axe_violations(page)

    session_id = await bookable_session(page, commons_up)
    await page.goto(f"{commons_up}/sessions/{session_id}")
    await axe("form")

    await page.get_by_role("button", name="Continue").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text(
        "Enter an email address or a mobile number, so we can send your booking details"
    )
    await expect(page).to_have_title(re.compile(r"^Error: "))
    if javascript:
        await expect(summary).to_be_focused()
        await summary.get_by_role("link", name="Enter your full name").click()
        await expect(page.get_by_label("Full name")).to_be_focused()
    else:
        await expect(summary.get_by_role("link", name="Enter your full name")).to_have_attribute("href", "#name")
    await axe("form with errors")

    await fill_in(page, email=f"axe.{uuid.uuid4().hex[:8]}@example.org", places="1")
    await check_answers(page)
    await axe("check your answers")
    await page.get_by_role("button", name="Confirm booking").click()
    await reference_shown(page)
    await axe("confirmation")

    assert {name: found for name, found in checked.items() if found} == {}
    await context.close()
