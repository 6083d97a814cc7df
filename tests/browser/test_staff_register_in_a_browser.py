"""The register in a real browser: a volunteer on a tablet taps Attended and No-show (rows update without a
page load, a failed tick says so and a retry works), and books someone in by phone end to end."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.browser.resident_steps import axe_as_shown, new_email
from tests.browser.staff_steps import new_staff_page

pytestmark = pytest.mark.browser

VENUE = "baswich"  #: a demo venue (booking/demo.py)
TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}
REFERENCE = re.compile(r"\b[A-Z0-9]{3}-[A-Z0-9]{3}\b")


def _db(data_dir) -> sqlite3.Connection:
    return sqlite3.connect(f"{data_dir}/commons.sqlite3", timeout=30)


def open_session_at(data_dir, slug: str, *, starts_in: timedelta | None = None, places: int = 3) -> int:
    """A demo session at the venue with nobody booked; with ``starts_in``, moved to start that soon
    (demo sessions start tomorrow at the earliest, and the register opens an hour before the start)."""
    with _db(data_dir) as db:
        row = db.execute(
            "SELECT session.id FROM session JOIN room ON room.id = session.room JOIN venue ON venue.id = room.venue "
            "WHERE venue.slug = ? AND session.status = 'scheduled' AND session.booked = 0 AND session.held = 0 "
            "AND session.capacity >= ? AND NOT EXISTS (SELECT 1 FROM booking WHERE booking.session = session.id) "
            "ORDER BY session.starts_at DESC LIMIT 1",
            (slug, places),
        ).fetchone()
        assert row, f"no empty demo session at {slug}"
        if starts_in is not None:
            start = (datetime.now(UTC) + starts_in).replace(microsecond=0)
            # Piccolo keeps instants in SQLite as str() of the UTC datetime.
            db.execute("UPDATE session SET starts_at = ?, ends_at = ? WHERE id = ?",
                       (str(start), str(start + timedelta(hours=1)), row[0]))
    return row[0]


async def book_by_phone(page: Page, base_url: str, session_id: int, name: str, email: str, note: str = "") -> str:
    """Fill in the book-on-behalf form as read out on the phone; returns the reference shown."""
    await page.goto(f"{base_url}/staff/sessions/{session_id}/book")
    await page.get_by_role("radio", name="By phone").check()
    await page.get_by_label("Full name").fill(name)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label(re.compile("Number of places")).fill("1")
    if note:
        await page.get_by_label(re.compile("Access or support needs")).fill(note)
    await page.get_by_role("button", name="Book", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Booked")
    match = REFERENCE.search(await page.locator(".reference").inner_text())
    assert match
    return match.group(0)


async def message_to(page: Page, base_url: str, email: str, timeout: float = 30.0) -> str:
    """Poll the dev mailbox (with a deadline) for a message to ``email``; returns its subject."""
    deadline = time.monotonic() + timeout
    while True:
        await page.goto(base_url + "/dev/mailbox")
        row = page.locator("tr", has_text=email)
        if await row.count():
            return await row.first.get_by_role("link").inner_text()
        if time.monotonic() > deadline:
            raise AssertionError(f"no message to {email} in the dev mailbox after {timeout}s")
        await page.wait_for_timeout(250)  # pause between polls of a condition with a deadline


async def test_taking_a_register_on_a_tablet(browser, commons_up_dir, commons_up):
    page = await new_staff_page(browser, commons_up_dir, commons_up, "volunteer", venues=(VENUE,), **TABLET)
    session_id = open_session_at(commons_up_dir, VENUE, starts_in=timedelta(minutes=20))
    await book_by_phone(page, commons_up, session_id, "Ada Lovelace", new_email("ada"), note="Needs a chair with arms")
    await book_by_phone(page, commons_up, session_id, "Grace Hopper", new_email("grace"))

    await page.goto(f"{commons_up}/staff/sessions/{session_id}/register")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Register:")
    await page.evaluate("window.sameDocument = true")  # gone if the page reloads
    count = page.locator("#register-count")
    await expect(count).to_contain_text("0 of 2 marked")
    ada = page.locator("tr", has_text="Ada Lovelace")
    grace = page.locator("tr", has_text="Grace Hopper")
    await expect(ada).to_contain_text("Needs a chair with arms")

    attended = ada.get_by_role("button", name="Attended")
    box = await attended.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44, box
    await attended.tap()
    await expect(ada.locator(".register-state")).to_contain_text("Attended")
    await expect(count).to_contain_text("1 of 2 marked")
    await grace.get_by_role("button", name="No-show").tap()
    await expect(grace.locator(".register-state")).to_contain_text("No-show")
    await expect(count).to_contain_text("2 of 2 marked")
    assert await page.evaluate("window.sameDocument === true"), "the page reloaded"
    assert await axe_as_shown(page) == []

    # The connection drops: the tick says it was not saved, and tapping again once it is back works.
    await page.route("**/attendance", lambda route: route.abort())
    await grace.get_by_role("button", name="Attended").tap()
    await expect(grace).to_contain_text("That tick was not saved")
    await expect(grace.locator(".register-state")).to_contain_text("No-show")
    await page.unroute("**/attendance")
    await grace.get_by_role("button", name="Attended").tap()
    await expect(grace.locator(".register-state")).to_contain_text("Attended")
    await expect(grace).not_to_contain_text("That tick was not saved")
    await expect(count).to_contain_text("2 of 2 marked")
    assert await page.evaluate("window.sameDocument === true"), "the page reloaded"

    await page.get_by_role("link", name="Print the register").click()
    await expect(page.locator("main")).to_contain_text("Needs a chair with arms")
    assert await axe_as_shown(page) == []
    await page.context.close()


async def test_booking_on_someones_behalf_by_phone(browser, commons_up_dir, commons_up):
    page = await new_staff_page(browser, commons_up_dir, commons_up, "volunteer", venues=(VENUE,), **TABLET)
    session_id = open_session_at(commons_up_dir, VENUE)
    await page.goto(f"{commons_up}/staff/sessions/{session_id}/book")
    assert await axe_as_shown(page) == []

    # Nothing filled in: an error summary, focused, and every question still there.
    await page.get_by_role("button", name="Book", exact=True).click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("Select how they gave consent")
    await expect(summary).to_be_focused()
    await expect(page).to_have_title(re.compile(r"^Error: "))
    assert await axe_as_shown(page) == []

    email = new_email("phoned")
    reference = await book_by_phone(page, commons_up, session_id, "Mary Seacole", email, note="Hard of hearing")
    await expect(page.locator("main")).to_contain_text(email)
    await page.get_by_role("link", name="Back to the register").click()
    row = page.locator("tr", has_text="Mary Seacole")
    await expect(row).to_contain_text(reference)
    await expect(row).to_contain_text("booked by phone")
    await expect(row).to_contain_text("Hard of hearing")

    # The notification worker sends their confirmation from booking.confirmed.
    assert await message_to(page, commons_up, email)
    await page.context.close()
