"""Manage a booking and "Find my bookings" in a real browser, with and without JavaScript, checked with axe-core.

A resident books a demo session, cancels it through the manage link on the confirmation page; asks for a
sign-in link, opens it from the dev mailbox, sees the booking and cancels it there; and meets every error
state on the way (no address, a wrong one, a used link, a forged link). Every page is checked with axe-core.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.resident_steps import (
    REFERENCE,
    axe_as_shown,
    new_email,
    request_sign_in_link,
    sign_in_link_from_mailbox,
)

pytestmark = pytest.mark.browser

JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
CONTACT_LABEL = "Enter the email address or mobile number you booked with"


class Checked:
    """axe-core results for every page a test visits, keyed by what the page was and its URL.

    A page seen without JavaScript is checked as served (``axe_as_shown``): axe-core cannot run there.
    """

    def __init__(self, browser: Browser, javascript: bool) -> None:
        self.results: dict[str, list] = {}

    async def page(self, page: Page, what: str) -> None:
        self.results[f"{what} ({page.url})"] = await axe_as_shown(page)

    async def assert_clean(self) -> None:
        failing = {where: found for where, found in self.results.items() if found}
        assert failing == {}, f"axe-core violations on: {', '.join(failing)}\n{failing}"


async def new_page(browser: Browser, javascript: bool) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(java_script_enabled=javascript)
    return context, await context.new_page()


def heading(page: Page):
    return page.get_by_role("heading", level=1)


async def book_a_demo_session(page: Page, base_url: str, *, name: str, email: str) -> str:
    """Book one place on the first demo session with places, through every step the journey shows.

    The journey may or may not have a check-your-answers step: press "Continue" and/or "Confirm booking"
    as they appear, until the confirmation. Returns the booking reference.
    """
    await page.goto(base_url + "/")
    card = page.locator(".session-card").filter(has_text=re.compile(r"places? left")).first
    await card.locator("a[href^='/sessions/']").first.click()
    await page.get_by_label("Full name").fill(name)
    await page.get_by_label("Email address").fill(email)
    by_email = page.get_by_role("checkbox", name="By email")
    if await by_email.count() and not await by_email.is_checked():
        await by_email.check()
    await page.get_by_label(re.compile("Number of places")).fill("1")
    confirmed = page.get_by_role("heading", level=1, name="Booking confirmed")
    confirm = page.get_by_role("button", name="Confirm booking")
    await page.get_by_role("button", name=re.compile(r"^(Continue|Confirm booking)$")).first.click()
    await expect(confirmed.or_(confirm)).to_be_visible()
    if not await confirmed.count():
        await confirm.click()
    await expect(confirmed).to_be_visible()
    match = REFERENCE.search(await page.locator("main").inner_text())
    assert match, "the confirmation page shows no booking reference"
    return match.group(0)


async def cancel_with_reason(page: Page, reference: str, javascript: bool, checked: Checked) -> None:
    """On "Are you sure...?": a reason that is too long first (an error), then a real one; the banner shows."""
    await expect(heading(page)).to_have_text("Are you sure you want to cancel this booking?")
    await expect(page).to_have_title(re.compile(re.escape(reference)))
    await checked.page(page, "cancel confirmation")

    reason = page.get_by_label("Why are you cancelling? (optional)")
    await reason.fill("x" * 501)
    await page.get_by_role("button", name="Yes, cancel it").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("Reason must be 500 characters or fewer")
    await expect(page).to_have_title(re.compile(r"^Error: "))
    await expect(reason).to_have_value("x" * 501)
    if javascript:
        await expect(summary).to_be_focused()
    await checked.page(page, "cancel confirmation with an error")

    await reason.fill("I am not well enough to come")
    await page.get_by_role("button", name="Yes, cancel it").click()
    banner = page.locator(".notification-banner")
    await expect(banner).to_contain_text("Your booking has been cancelled")
    await expect(heading(page)).to_have_text(f"Your booking {reference}")
    await expect(page.locator("main")).to_contain_text("This booking has been cancelled")
    await expect(page.get_by_role("button", name="Cancel this booking")).to_have_count(0)
    await expect(page).not_to_have_title(re.compile(r"^Error: "))
    if javascript:
        await expect(banner).to_be_focused()
    await checked.page(page, "manage page, cancelled")


@JAVASCRIPT
async def test_cancel_through_the_manage_link(browser, commons_up, javascript):
    context, page = await new_page(browser, javascript)
    checked = Checked(browser, javascript)
    reference = await book_a_demo_session(page, commons_up, name="Florence Nightingale", email=new_email("manage"))
    await checked.page(page, "confirmation")

    await page.get_by_role("link", name="view, change or cancel your booking").click()
    await expect(heading(page)).to_have_text(f"Your booking {reference}")
    await expect(page.locator("main")).to_contain_text("Confirmed")
    await checked.page(page, "manage page")

    await page.get_by_role("button", name="Cancel this booking").click()
    await cancel_with_reason(page, reference, javascript, checked)

    # A second look at the link: still cancelled, and nothing to cancel any more.
    await page.reload()
    await expect(page.locator("main")).to_contain_text("This booking has been cancelled")
    await expect(page.get_by_role("button", name="Cancel this booking")).to_have_count(0)
    await checked.assert_clean()
    await context.close()


@JAVASCRIPT
async def test_find_my_bookings_with_a_link_from_the_mailbox_and_cancel_there(browser, commons_up, javascript):
    context, page = await new_page(browser, javascript)
    checked = Checked(browser, javascript)
    email = new_email(f"find{int(javascript)}")
    reference = await book_a_demo_session(page, commons_up, name="Mary Seacole", email=email)

    await page.goto(commons_up + "/my-bookings")
    await expect(heading(page)).to_have_text("Find my bookings")
    await checked.page(page, "find my bookings")
    await page.get_by_label(CONTACT_LABEL).fill(email)
    await page.get_by_role("button", name="Send me a link").click()
    await expect(heading(page)).to_have_text("Check your email")
    await expect(page.locator("main")).to_contain_text(f"If {email} matches a booking, we have sent a link to it.")
    if javascript:
        await expect(heading(page)).to_be_focused()
    await checked.page(page, "check your email")

    link = await sign_in_link_from_mailbox(page, commons_up, email)
    await checked.page(page, "the sign-in e-mail in the dev mailbox")
    await page.goto(link)
    await expect(heading(page)).to_have_text("Sign in to see your bookings")
    await checked.page(page, "sign-in link")
    await page.get_by_role("button", name="Continue to your bookings").click()
    await expect(heading(page)).to_have_text("Your bookings")
    booking = page.locator(".my-booking", has_text=reference)
    await expect(booking).to_contain_text("Confirmed")
    await checked.page(page, "your bookings")

    await booking.get_by_role("button", name=f"Cancel booking {reference}").click()
    await cancel_with_reason(page, reference, javascript, checked)

    await page.get_by_role("link", name="See all your bookings").click()
    await expect(heading(page)).to_have_text("Your bookings")
    booking = page.locator(".my-booking", has_text=reference)
    await expect(booking).to_contain_text("Cancelled")
    await expect(booking.get_by_role("button", name=f"Cancel booking {reference}")).to_have_count(0)
    await checked.page(page, "your bookings, one cancelled")

    await page.get_by_role("button", name="Sign out").click()
    await expect(heading(page)).to_have_text("Find my bookings")
    await expect(page.locator("main")).to_contain_text("You have signed out")
    await checked.page(page, "signed out")
    await checked.assert_clean()
    await context.close()


@JAVASCRIPT
async def test_find_my_bookings_error_states(browser, commons_up, javascript):
    context, page = await new_page(browser, javascript)
    checked = Checked(browser, javascript)
    summary = page.locator(".error-summary")
    contact = page.get_by_label(CONTACT_LABEL)

    # No address.
    await page.goto(commons_up + "/my-bookings")
    await page.get_by_role("button", name="Send me a link").click()
    await expect(summary).to_contain_text(CONTACT_LABEL)
    await expect(page).to_have_title(re.compile(r"^Error: "))
    if javascript:
        await expect(summary).to_be_focused()
    await checked.page(page, "find my bookings, empty")
    await summary.get_by_role("link", name=CONTACT_LABEL).click()
    await expect(contact).to_be_focused()

    # Neither an e-mail address nor a mobile number; then an e-mail address in the wrong format.
    for typed, message in [
        ("not an address", "Enter an email address, like name@example.com, or a UK mobile number"),
        ("someone@", "Enter an email address in the correct format, like name@example.com"),
    ]:
        await contact.fill(typed)
        await page.get_by_role("button", name="Send me a link").click()
        await expect(summary).to_contain_text(message)
        await expect(page).to_have_title(re.compile(r"^Error: "))
        await expect(contact).to_have_value(typed)
        await expect(contact).to_have_attribute("aria-invalid", "true")
        await checked.page(page, f"find my bookings, invalid {typed!r}")

    # A link works once: opened again after use, here and in another browser, it signs nobody in.
    email = new_email(f"used{int(javascript)}")
    await book_a_demo_session(page, commons_up, name="Octavia Hill", email=email)
    await request_sign_in_link(page, commons_up, email)
    link = await sign_in_link_from_mailbox(page, commons_up, email)
    await page.goto(link)
    await page.get_by_role("button", name="Continue to your bookings").click()
    await expect(heading(page)).to_have_text("Your bookings")
    await page.goto(link)
    await expect(heading(page)).to_have_text("This sign-in link does not work")
    await expect(page.locator("main")).to_contain_text("This link has already been used")
    await expect(page.get_by_role("button", name="Continue to your bookings")).to_have_count(0)
    await checked.page(page, "used sign-in link")

    other, other_page = await new_page(browser, javascript)
    await other_page.goto(link)
    await expect(heading(other_page)).to_have_text("This sign-in link does not work")
    await other_page.goto(commons_up + "/my-bookings")
    await expect(heading(other_page)).to_have_text("Find my bookings")  # not signed in
    await other.close()

    # A forged link: the right id with a wrong signature, or not a link at all.
    link_id, _, mac = link.rpartition("/")[2].partition(".")
    forged_mac = ("A" if mac[0] != "A" else "B") + mac[1:]
    for forged in [f"{link_id}.{forged_mac}", "12345", "not-a-link"]:
        await page.goto(f"{commons_up}/my-bookings/sign-in/{forged}")
        await expect(heading(page)).to_have_text("This sign-in link does not work")
        await expect(page.locator("main")).to_contain_text("Check you used the whole link")
        await expect(page.get_by_role("button", name="Continue to your bookings")).to_have_count(0)
        await checked.page(page, f"forged sign-in link {forged!r}")
    await checked.assert_clean()
    await context.close()
