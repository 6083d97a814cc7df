"""axe-core finds no WCAG 2.2 A/AA violations on a link worker's pages, in the states they really see.

test_staff_pages_are_accessible.py signs in as an administrator, who is linked to no partner, so it sees only
the "not linked" state of the referral pages. Here a partner account made with ``commons staff create --role
partner`` sets its password through the live one-time link and signs in on ``commons up`` with the demo data.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.staff_steps import STAFF_PASSWORD, create_link_worker_account, set_password_and_sign_in

pytestmark = pytest.mark.browser

NO_SUCH_ACTIVITY = "no activity is called this"


def a_partner(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "commons.sqlite3") as db:
        (partner,) = db.execute("SELECT id FROM partner ORDER BY id LIMIT 1").fetchone()
    return str(partner)


def a_session_to_refer_to(data_dir: Path) -> dict[str, str]:
    """A session more than two days ahead with places left: its activity's title and its date at the venue."""
    with sqlite3.connect(data_dir / "commons.sqlite3") as db:
        title, starts_at, time_zone = db.execute(
            "SELECT activity.title, session.starts_at, venue.time_zone FROM session "
            "JOIN activity ON activity.id = session.activity JOIN room ON room.id = session.room "
            "JOIN venue ON venue.id = room.venue "
            "WHERE session.status = 'scheduled' AND session.starts_at > datetime('now', '+2 days') "
            "AND session.booked + session.held < session.capacity AND NOT venue.archived "
            "ORDER BY session.starts_at LIMIT 1"
        ).fetchone()
    local_date = datetime.fromisoformat(starts_at).astimezone(ZoneInfo(time_zone)).date()
    return {"activity": title, "from": local_date.isoformat()}


async def _send(page: Page, button: str) -> None:
    await page.locator("main").get_by_role("button", name=button, exact=True).first.click()


async def _find_sessions(page: Page, activity: str, from_date: str) -> None:
    """The "Find a session" search, sent with its button; returns once its session list is shown."""
    await page.locator("#find-activity").fill(activity)
    await page.locator("#find-from").fill(from_date)
    await _send(page, "Find sessions")
    await expect(page).to_have_url(re.compile(re.escape(f"from={from_date}")))  # htmx pushes it after its swap
    await expect(page.locator("#find-session.htmx-request")).to_have_count(0)  # and no search still under way


async def test_the_live_set_password_form_has_no_axe_violations(browser, commons_up, commons_up_dir):
    _, link = create_link_worker_account(commons_up_dir, commons_up, a_partner(commons_up_dir))
    page = await (await browser.new_context()).new_page()
    found: dict[str, list] = {}

    await page.goto(commons_up + link)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
    found["set password"] = await axe_violations(page)
    for label in ("New password", "Type the new password again"):
        await page.get_by_label(label, exact=True).fill("too short")
    await _send(page, "Save password")
    await expect(page.locator(".error-summary")).to_contain_text("12 characters or more")
    found["set password with an error"] = await axe_violations(page)
    for label in ("New password", "Type the new password again"):
        await page.get_by_label(label, exact=True).fill(STAFF_PASSWORD)
    await _send(page, "Save password")
    await expect(page.get_by_text("Your password is saved")).to_be_visible()

    assert {name: violations for name, violations in found.items() if violations} == {}


async def test_a_link_workers_referral_and_api_key_pages_have_no_axe_violations(browser, commons_up, commons_up_dir):
    email, link = create_link_worker_account(commons_up_dir, commons_up, a_partner(commons_up_dir))
    page = await (await browser.new_context()).new_page()
    await set_password_and_sign_in(page, commons_up, link, email)
    found: dict[str, list] = {}

    await page.goto(f"{commons_up}/staff/referrals")
    await expect(page.get_by_text("Your organisation has not referred anyone yet")).to_be_visible()
    found["referrals, none yet"] = await axe_violations(page)

    # The new-referral form: empty, sent empty, a search with mistakes, then searches with no match and a match.
    await page.get_by_role("link", name="Refer someone").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Refer someone")
    found["new referral"] = await axe_violations(page)
    await _send(page, "Make the referral")
    await expect(page.locator(".error-summary")).to_contain_text("Choose a session")
    found["new referral with errors"] = await axe_violations(page)
    await page.goto(f"{commons_up}/staff/referrals/new?venue=0&category=nonsense&from=2026-13-45")
    await expect(page.locator("#find-from-error")).to_contain_text("Enter the date like")
    found["new referral, search with mistakes"] = await axe_violations(page)
    wanted = a_session_to_refer_to(commons_up_dir)
    await _find_sessions(page, NO_SUCH_ACTIVITY, wanted["from"])
    await expect(page.locator("#session_id-hint")).to_have_text(re.compile("^No sessions match"))
    await expect(page.locator("#session_id option")).to_have_count(1)
    await expect(page.locator("#find-from")).not_to_have_attribute("aria-invalid", "true")  # mistakes not left shown
    await expect(page.locator("main .error-message")).to_have_count(0)
    found["new referral, search with no match"] = await axe_violations(page)
    await _find_sessions(page, wanted["activity"], wanted["from"])
    await expect(page.locator("#session_id-hint")).to_have_text(re.compile(r"^(\d+ sessions? match|Showing the first)"))
    await expect(page.locator("#session_id option").nth(1)).to_contain_text(wanted["activity"])
    found["new referral, search with a filter"] = await axe_violations(page)

    # A hold on the first session found: listed, and cancellable.
    await page.locator("#session_id").select_option(index=1)
    await page.locator("#name").fill("Grace Hopper")
    await page.locator("#email").fill("grace.axe@example.org")
    await page.locator("#consent_source").check()
    await page.locator("#share_outcome").check()
    await page.locator("#mode-hold").check()
    await _send(page, "Make the referral")
    await expect(page.get_by_text("The referral is made")).to_be_visible()
    cancel_link = page.get_by_role("link", name="Cancel the referral for Grace Hopper")
    await expect(cancel_link).to_be_visible()
    found["referrals, one cancellable"] = await axe_violations(page)

    await cancel_link.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the referral for Grace Hopper")
    found["cancel a referral"] = await axe_violations(page)
    reason = page.locator("#reason")
    await reason.evaluate("element => element.removeAttribute('maxlength')")  # as a browser without it would
    await reason.fill("x" * 501)
    await _send(page, "Cancel the referral")
    await expect(page.locator(".error-summary")).to_be_visible()
    await expect(page.locator("#reason-error")).to_be_visible()
    found["cancel a referral with an error"] = await axe_violations(page)
    cancel_url = page.url
    await reason.fill("The session no longer suits them.")
    await _send(page, "Cancel the referral")
    await expect(page.get_by_text("The referral is cancelled")).to_be_visible()
    found["referrals, one cancelled"] = await axe_violations(page)
    await page.goto(cancel_url)
    await expect(page.locator(".error-summary")).to_be_visible()
    found["cancel a referral already cancelled"] = await axe_violations(page)

    # API keys: none, a name left out, the page that shows a new key once, then the list with it.
    await page.goto(f"{commons_up}/staff/referrals")
    await page.get_by_role("link", name="Manage your organisation's API keys").click()
    await expect(page.get_by_text("Your organisation has no API keys yet")).to_be_visible()
    found["API keys, none yet"] = await axe_violations(page)
    await _send(page, "Make the key")
    await expect(page.locator(".error-summary")).to_be_visible()
    found["API keys with an error"] = await axe_violations(page)
    await page.locator("#name").fill("Case management system")
    await _send(page, "Make the key")
    await expect(page.locator("#new-key .api-key-secret")).to_be_visible()
    found["API keys, a new key shown once"] = await axe_violations(page)
    await page.goto(f"{commons_up}/staff/referrals/api-keys")
    await expect(page.get_by_role("button", name="Revoke Case management system")).to_be_visible()
    found["API keys, one key"] = await axe_violations(page)

    assert {name: violations for name, violations in found.items() if violations} == {}
