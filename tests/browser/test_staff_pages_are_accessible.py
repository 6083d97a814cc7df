"""axe-core finds no WCAG 2.2 A/AA violations on any staff page, forms with errors included.

Signed in as an administrator (who can open every page) on ``commons up`` with the demo data. To check
another page, add its path to PAGES; for a form's error state, add its path and button to FORMS.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.browser.conftest import axe_violations
from tests.browser.staff_steps import new_staff_page

pytestmark = pytest.mark.browser

#: "{venue}", "{room}", "{activity}", "{partner}" and "{session}" are filled in from the demo database.
PAGES = [
    "/staff",
    "/staff?venue={venue}",
    "/staff/programme",
    "/staff/venues",
    "/staff/venues/new",
    "/staff/venues/{venue}",
    "/staff/venues/{venue}/edit",
    "/staff/venues/{venue}/rooms/new",
    "/staff/rooms/{room}/edit",
    "/staff/venues/{venue}/sessions/new",
    "/staff/venues/{venue}/series/new",
    "/staff/sessions/{session}",
    "/staff/sessions/{session}/edit",
    "/staff/sessions/{session}/cancel",
    "/staff/sessions/{session}/register",
    "/staff/sessions/{session}/register/print",
    "/staff/sessions/{session}/walk-in",
    "/staff/sessions/{session}/book",
    "/staff/activities",
    "/staff/activities/new",
    "/staff/activities/{activity}/edit",
    "/staff/partners",
    "/staff/partners/new",
    "/staff/partners/{partner}/edit",
    "/staff/reports",
    "/staff/reports?from=2026-13-45&to=yesterday",  # filter errors
    "/staff/audit",
    "/staff/people",
    "/staff/people/new",
    "/staff/account",
    "/staff/no-such-page",  # 404
]

#: Forms submitted empty: (page, the button that submits it) → the page with its error summary.
FORMS = [
    ("/staff/venues/new", "Add venue"),
    ("/staff/venues/{venue}/rooms/new", "Add room"),
    ("/staff/activities/new", "Add activity"),
    ("/staff/partners/new", "Add partner"),
    ("/staff/people/new", "Add account"),
    ("/staff/venues/{venue}/sessions/new", "Schedule session"),
    ("/staff/venues/{venue}/series/new", "Schedule series"),
    ("/staff/sessions/{session}/walk-in", "Add walk-in"),
    ("/staff/sessions/{session}/book", "Book"),
    ("/staff/account", "Change password"),
]


def demo_ids(data_dir: Path) -> dict[str, int]:
    """A venue with rooms and upcoming sessions, and one of each thing, from the demo database."""
    with sqlite3.connect(data_dir / "commons.sqlite3") as db:
        session, room, venue, activity = db.execute(
            "SELECT session.id, room.id, room.venue, session.activity FROM session JOIN room ON room.id = session.room "
            "WHERE session.status = 'scheduled' AND session.starts_at > datetime('now') ORDER BY session.starts_at LIMIT 1"
        ).fetchone()
        (partner,) = db.execute("SELECT id FROM partner ORDER BY id LIMIT 1").fetchone()
    return {"venue": venue, "room": room, "activity": activity, "partner": partner, "session": session}


async def test_every_staff_page_has_no_axe_violations(browser, commons_up, commons_up_dir):
    page = await new_staff_page(browser, commons_up_dir, commons_up, "admin")
    ids = demo_ids(commons_up_dir)
    found: dict[str, list] = {}
    for path in PAGES:
        url = path.format(**ids)
        response = await page.goto(commons_up + url)
        assert response is not None and response.status < 500, f"{url}: {response and response.status}"
        await expect(page.get_by_role("heading", level=1)).to_have_count(1)
        found[url] = await axe_violations(page)
    for path, button in FORMS:
        url = path.format(**ids)
        await page.goto(commons_up + url)
        await page.locator("main").get_by_role("button", name=button, exact=True).first.click()
        await expect(page.locator(".error-summary")).to_be_visible()
        found[f"{url} with errors"] = await axe_violations(page)
    assert {name: violations for name, violations in found.items() if violations} == {}
