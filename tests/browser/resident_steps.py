"""Steps a resident takes in the browser, shared by the browser tests: book, get a sign-in link, sign in."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
import weakref

from playwright.async_api import Page, expect

from tests.browser.conftest import axe_violations

REFERENCE = re.compile(r"\b[A-Z2-9]{3}-[A-Z2-9]{3}\b")
SIGN_IN_URL = re.compile(r"https?://\S+/my-bookings/sign-in/[0-9]+\.[A-Za-z0-9_-]+")


def new_email(label: str) -> str:
    return f"{label}.{uuid.uuid4().hex[:8]}@example.org"


async def book_first_session(page: Page, base_url: str, *, name: str, email: str) -> str:
    """Book one place on the first session on the home page, through every step shown; returns the reference."""
    await page.goto(base_url + "/")
    card = page.locator(".session-card").filter(has_text=re.compile(r"\bplaces? left\b")).first
    await card.locator('a[href^="/sessions/"]').first.click()
    await page.get_by_label("Full name").fill(name)
    await page.get_by_label("Email address").fill(email)
    by_email = page.get_by_role("checkbox", name="By email")
    if await by_email.count() and not await by_email.is_checked():
        await by_email.check()
    await page.get_by_label(re.compile("Number of places")).fill("1")
    # The journey may have a check-your-answers step ("Continue", then "Confirm booking") or not.
    for _step in range(2):
        button = page.get_by_role("button", name=re.compile(r"^(Continue|Confirm booking)$"))
        await button.first.click()
        heading = page.get_by_role("heading", level=1)
        confirmed = page.get_by_role("heading", name="Booking confirmed")
        answers = page.get_by_role("button", name="Confirm booking")
        await expect(confirmed.or_(answers)).to_be_visible()
        if await confirmed.count():
            break
    await expect(heading).to_have_text("Booking confirmed")
    match = REFERENCE.search(await page.locator("main").inner_text())
    assert match, "the confirmation page shows no booking reference"
    return match.group(0)


async def sign_in_link_from_mailbox(page: Page, base_url: str, email: str, timeout: float = 20.0) -> str:
    """Poll the dev mailbox (with a deadline) for the sign-in e-mail to ``email``; returns its link."""
    deadline = time.monotonic() + timeout
    while True:
        await page.goto(base_url + "/dev/mailbox")
        row = page.locator("tr", has_text=email).filter(has_text="Your link to see your Commons bookings")
        if await row.count():
            await row.first.get_by_role("link").click()
            match = SIGN_IN_URL.search(await page.locator("main").inner_text())
            assert match, "the sign-in e-mail has no link"
            return match.group(0)
        if time.monotonic() > deadline:
            raise AssertionError(f"no sign-in e-mail to {email} in the dev mailbox after {timeout}s")
        await page.wait_for_timeout(200)  # pause between polls of a condition with a deadline


async def request_sign_in_link(page: Page, base_url: str, email: str) -> None:
    await page.goto(base_url + "/my-bookings")
    await page.get_by_label("Enter the email address or mobile number you booked with").fill(email)
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("heading", level=1)).not_to_have_text("Find my bookings")


async def sign_in(page: Page, base_url: str, email: str) -> None:
    """Ask for a link at "Find my bookings", open it from the dev mailbox and press its button."""
    await request_sign_in_link(page, base_url, email)
    link = await sign_in_link_from_mailbox(page, base_url, email)
    await page.goto(link)
    await page.get_by_role("button", name="Continue to your bookings").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your bookings")


async def axe_as_shown(page: Page) -> list[dict]:
    """axe-core on the page as the resident sees it, also when the page's context has JavaScript off.

    axe-core is JavaScript and never finishes in a page whose scripts are disabled, so for such a page the
    HTML it was served is shown again in a context with scripts on, with the site's own scripts blocked
    (the page looks and behaves exactly as without JavaScript) and axe-core runs there.
    """
    scripts_on = await _scripts_enabled(page)
    if scripts_on:
        return await asyncio.wait_for(axe_violations(page), timeout=60)
    html = await page.content()
    url = page.url
    checker = await _checker_for(page)

    async def serve_as_seen(route) -> None:
        await route.fulfill(status=200, content_type="text/html", body=html)

    await checker.route(url, serve_as_seen)
    try:
        await checker.goto(url)
        return await asyncio.wait_for(axe_violations(checker), timeout=60)
    finally:
        await checker.unroute(url, serve_as_seen)


_checkers: dict[int, Page] = {}  #: per browser: one page, scripts on, the site's own scripts blocked


async def _checker_for(page: Page) -> Page:
    browser = page.context.browser
    assert browser is not None
    checker = _checkers.get(id(browser))
    if checker is None or checker.is_closed():
        context = await browser.new_context()
        checker = await context.new_page()
        await checker.route("**/*.js", lambda route: route.abort())
        _checkers[id(browser)] = checker
    return checker


_scripts_by_context: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _scripts_enabled(page: Page) -> bool:
    """Whether the page runs scripts: a timer fires only where JavaScript is on (asked once per browser context)."""
    known = _scripts_by_context.get(page.context)
    if known is None:
        try:
            known = await asyncio.wait_for(page.evaluate("new Promise(r => setTimeout(() => r(true), 0))"), timeout=2)
        except TimeoutError:
            known = False
        _scripts_by_context[page.context] = known
    return known
