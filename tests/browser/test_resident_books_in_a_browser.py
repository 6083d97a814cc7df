"""A resident books in a real browser, with and without JavaScript; the e-mail reaches the dev mailbox."""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.test_book_with_and_without_javascript import bookable_session

pytestmark = pytest.mark.browser


async def open_first_session(page: Page, base_url: str) -> str:
    """From the home page to the first session that is open for booking."""
    await page.goto(base_url + "/")
    session_id = await bookable_session(page, base_url)
    link = page.locator(f'main a[href="/sessions/{session_id}"]').first
    if await link.count():
        await link.click()
    else:  # not on the first page of what's on
        await page.goto(f"{base_url}/sessions/{session_id}")
    title = (await page.get_by_role("heading", level=1).inner_text()).strip()
    await expect(page.locator("#booking-form form")).to_be_visible()
    return title


async def fill_booking(page: Page, *, name: str, email: str, places: str = "1") -> None:
    await page.get_by_label("Full name").fill(name)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label(re.compile("Number of places")).fill(places)


async def continue_and_confirm(page: Page) -> None:
    """Continue to "Check your answers before booking", then confirm."""
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Check your answers before booking")).to_be_visible()
    await page.get_by_role("button", name="Confirm booking").click()


async def reference_on_confirmation(page: Page) -> str:
    await expect(page.get_by_role("heading", level=1)).to_have_text("Booking confirmed")
    match = re.search(r"\b[A-Z2-9]{3}-[A-Z2-9]{3}\b", await page.locator("main").inner_text())
    assert match, "the confirmation page shows no booking reference"
    return match.group(0)


async def wait_for_mail(page: Page, base_url: str, reference: str, timeout: float = 15.0) -> None:
    """Reload /dev/mailbox until a message with the reference is listed (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        await page.goto(base_url + "/dev/mailbox")
        if reference in await page.locator("main").inner_text():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no e-mail with {reference} in the dev mailbox after {timeout}s")
        await page.wait_for_timeout(200)  # pause between polls of a condition with a deadline


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_book_in_the_browser_and_the_email_arrives(browser, commons_up, javascript):
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    await open_first_session(page, commons_up)
    await fill_booking(page, name="Mary Seacole", email=f"mary.{int(javascript)}@example.org")
    await continue_and_confirm(page)
    reference = await reference_on_confirmation(page)
    await wait_for_mail(page, commons_up, reference)
    await context.close()


async def test_mistakes_show_an_error_summary_and_keep_the_input(browser, commons_up):
    context = await browser.new_context()
    page = await context.new_page()
    await open_first_session(page, commons_up)
    await fill_booking(page, name="", email="not-an-email", places="1")
    await page.get_by_role("button", name="Continue").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_be_visible()
    await expect(summary).to_contain_text("Enter your full name")
    await expect(summary).to_be_focused()
    await expect(page).to_have_title(re.compile(r"^Error: "))
    await expect(page.get_by_label("Email address")).to_have_value("not-an-email")
    # The summary links to the field it names.
    await summary.get_by_role("link", name="Enter your full name").click()
    await expect(page.get_by_label("Full name")).to_be_focused()
    await context.close()


async def test_key_pages_have_no_accessibility_violations(browser, commons_up):
    context = await browser.new_context()
    page = await context.new_page()
    checked: dict[str, list] = {}

    await page.goto(commons_up + "/")
    checked["home"] = await axe_violations(page)
    await open_first_session(page, commons_up)
    checked["session"] = await axe_violations(page)
    await page.get_by_label("Email address").fill("")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator(".error-summary")).to_be_visible()
    checked["session with errors"] = await axe_violations(page)
    await fill_booking(page, name="Ada Lovelace", email="ada.axe@example.org")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Check your answers before booking")).to_be_visible()
    checked["check your answers"] = await axe_violations(page)
    await page.get_by_role("button", name="Confirm booking").click()
    await reference_on_confirmation(page)
    checked["confirmation"] = await axe_violations(page)
    await page.get_by_role("link", name="view, change or cancel your booking").click()
    checked["manage"] = await axe_violations(page)
    await page.goto(commons_up + "/dev/mailbox")
    checked["mailbox"] = await axe_violations(page)
    await page.goto(commons_up + "/no-such-page")
    checked["not found"] = await axe_violations(page)

    assert {name: v for name, v in checked.items() if v} == {}
    await context.close()
