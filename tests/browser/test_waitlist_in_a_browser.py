"""The waiting list, offers and unsubscribing in a real browser, checked with axe-core as each page appears."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.support.services import commons_env

pytestmark = pytest.mark.browser

HOME_PAGE_BUDGET = 50 * 1024  #: bytes on the wire, compressed: the page and everything it loads


def scenario(data_dir, *args: str) -> dict:
    """Run a step of tests/browser/waitlist_scenario.py against the database ``commons up`` is using."""
    env = commons_env(f"sqlite:///{data_dir}/commons.sqlite3", data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "tests.browser.waitlist_scenario", *args],
        env=env,
        check=False,  # the assertion below shows the child's stderr
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


async def fill_waitlist_form(page: Page, *, name: str, email: str) -> None:
    await page.get_by_label("Full name").fill(name)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label(re.compile("Number of places")).fill("1")


@pytest.fixture(scope="module")
def full_session(commons_up, commons_up_dir) -> dict:
    return scenario(commons_up_dir, "fill")


async def test_join_without_javascript(browser, commons_up, full_session):
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{commons_up}/sessions/{full_session['session_id']}")
    await expect(page.get_by_role("heading", name="Join the waiting list")).to_be_visible()
    await fill_waitlist_form(page, name="Ada No-Script", email=f"nojs.{uuid.uuid4().hex[:8]}@example.org")
    await page.get_by_role("button", name="Join the waiting list").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're on the waiting list")
    await context.close()


async def test_join_with_javascript(browser, commons_up, full_session):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{commons_up}/sessions/{full_session['session_id']}")
    await expect(page.get_by_role("heading", name="Join the waiting list")).to_be_visible()
    await page.get_by_role("button", name="Join the waiting list").click()  # empty: errors swap in
    summary = page.locator(".error-summary")
    await expect(summary).to_be_focused()
    await expect(page).to_have_title(re.compile(r"^Error: "))
    await fill_waitlist_form(page, name="Ada Script", email=f"js.{uuid.uuid4().hex[:8]}@example.org")
    await page.get_by_role("button", name="Join the waiting list").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're on the waiting list")
    await context.close()


async def test_waitlist_offer_and_unsubscribe_pages_have_no_accessibility_violations(
    browser, commons_up, commons_up_dir, full_session
):
    context = await browser.new_context()
    page = await context.new_page()
    checked: dict[str, list] = {}

    await page.goto(f"{commons_up}/sessions/{full_session['session_id']}")
    await expect(page.get_by_role("heading", name="Join the waiting list")).to_be_visible()
    checked["waiting list form"] = await axe_violations(page)

    await page.get_by_label("By text message").check()
    await page.get_by_role("button", name="Join the waiting list").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_be_visible()
    await expect(summary).to_contain_text(
        "Enter an email address or a mobile number, so we can send your booking details"
    )
    await expect(page).to_have_title(re.compile(r"^Error: "))
    checked["waiting list form with errors"] = await axe_violations(page)

    await fill_waitlist_form(page, name="Mary Seacole", email=f"mary.wait.{uuid.uuid4().hex[:8]}@example.org")
    await page.get_by_label(re.compile("UK mobile number")).fill("07700 900 982")
    await page.get_by_role("button", name="Join the waiting list").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're on the waiting list")
    checked["waiting list confirmation"] = await axe_violations(page)

    tokens = scenario(commons_up_dir, "offer", str(full_session["session_id"]))
    await page.goto(f"{commons_up}/offers/{tokens['offer_token']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Places are free for you")
    checked["offer"] = await axe_violations(page)
    await page.get_by_role("button", name="Turn down the places").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You've turned down the places")
    checked["offer turned down"] = await axe_violations(page)

    await page.goto(f"{commons_up}/notifications/unsubscribe/{tokens['unsubscribe_token']}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Stop emails from Commons")
    checked["unsubscribe"] = await axe_violations(page)
    await page.get_by_role("button", name="Stop emails").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You will not get any more emails from us")
    checked["unsubscribed"] = await axe_violations(page)

    assert {name: v for name, v in checked.items() if v} == {}
    await context.close()


async def test_the_home_page_and_what_it_loads_stay_under_50_kb_compressed(commons_up):
    sent = 0
    async with httpx.AsyncClient(base_url=commons_up, headers={"Accept-Encoding": "gzip"}) as client:
        home = await client.get("/")
        assert home.status_code == 200
        sent += home.num_bytes_downloaded
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', home.text):
            response = await client.get(asset)
            assert response.status_code == 200, asset
            sent += response.num_bytes_downloaded
    assert sent < HOME_PAGE_BUDGET, f"the home page costs {sent} bytes compressed"
