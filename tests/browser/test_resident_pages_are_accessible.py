"""axe-core finds no WCAG 2.2 A/AA violations on any resident page, error states included, with and without JS.

To check another page, add its path to PAGES (or SIGNED_IN_PAGES if it needs a signed-in resident);
for a state a form leads to, add a step to STATES.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from tests.browser.resident_steps import axe_as_shown, book_first_session, new_email, sign_in

pytestmark = pytest.mark.browser

#: Pages anyone can open. "{session}", "{activity}" and "{venue}" are filled in from the home page.
PAGES = [
    "/",
    "/whats-on",
    "/whats-on?category=yoga_and_movement&day=monday&day=saturday&time=morning&access=step_free&has_places=yes",
    "/whats-on?near=WS12&within=5",
    "/whats-on?near=not+a+postcode&day=someday",  # filter errors
    "/whats-on?page=2",
    "{session}",
    "{activity}",
    "{venue}",
    "/privacy",
    "/accessibility",
    "/my-bookings",
    "/no-such-page",  # 404
    "/bookings/manage/not-a-real-link",  # a manage link that does not work
    "/my-bookings/sign-in/1.not-a-real-link-not-a-real-link-xx",  # a sign-in link that does not work
]

#: Pages for a resident who booked and signed in.
SIGNED_IN_PAGES = ["/my-bookings", "/my-data", "/my-data/all", "/my-data/delete"]


async def session_form_with_errors(page: Page, base_url: str, links: dict[str, str]) -> None:
    await page.goto(base_url + links["session"])
    await page.get_by_role("button", name=re.compile(r"^(Continue|Confirm booking)$")).first.click()
    await expect(page.locator(".error-summary")).to_be_visible()


async def find_my_bookings_with_an_error(page: Page, base_url: str, links: dict[str, str]) -> None:
    await page.goto(base_url + "/my-bookings")
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.locator(".error-summary")).to_be_visible()


async def delete_data_with_an_error(page: Page, base_url: str, links: dict[str, str]) -> None:
    await page.goto(base_url + "/my-data/delete")
    await page.get_by_role("button", name="Delete my data").click()
    await expect(page.locator(".error-summary")).to_be_visible()


Step = Callable[[Page, str, dict[str, str]], Awaitable[None]]
#: (name, needs a signed-in resident, the step that leads to the state)
STATES: list[tuple[str, bool, Step]] = [
    ("booking form with errors", False, session_form_with_errors),
    ("find my bookings with an error", False, find_my_bookings_with_an_error),
    ("delete your data with an error", True, delete_data_with_an_error),
]


async def links_from_home(page: Page, base_url: str) -> dict[str, str]:
    await page.goto(base_url + "/")
    first = page.locator(".session-card").first

    async def href(locator) -> str:
        return await locator.first.get_attribute("href")

    session = await href(first.locator('a[href^="/sessions/"]'))
    venue = await href(first.locator('a[href^="/venues/"]'))
    await page.goto(base_url + session)
    activity = page.locator('main a[href^="/activities/"]')
    await expect(activity.first).to_be_attached()  # the session page links its activity
    return {"session": session, "venue": venue, "activity": await href(activity)}


async def check(page: Page, base_url: str, path: str, links: dict[str, str], found: dict[str, list]) -> None:
    path = path.format(**links)
    await page.goto(base_url + path)
    found[path] = await axe_as_shown(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_every_resident_page_has_no_accessibility_violations(browser, commons_up, javascript):
    found: dict[str, list] = {}
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    links = await links_from_home(page, commons_up)
    for path in PAGES:
        await check(page, commons_up, path, links, found)
    for name, signed_in, step in STATES:
        if not signed_in:
            await step(page, commons_up, links)
            found[name] = await axe_as_shown(page)

    email = new_email(f"axe{int(javascript)}")
    await book_first_session(page, commons_up, name="Rosalind Franklin", email=email)
    found["confirmation"] = await axe_as_shown(page)
    await sign_in(page, commons_up, email)
    for path in SIGNED_IN_PAGES:
        await check(page, commons_up, path, links, (results := {}))
        found.update({f"signed in {p}": v for p, v in results.items()})
    for name, signed_in, step in STATES:
        if signed_in:
            await step(page, commons_up, links)
            found[name] = await axe_as_shown(page)
    await context.close()

    assert len(found) >= len(PAGES) + len(SIGNED_IN_PAGES) + len(STATES)
    assert {page: violations for page, violations in found.items() if violations} == {}
