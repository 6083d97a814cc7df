"""axe-core finds no WCAG 2.2 A/AA violations on any staff page, forms with errors included.

Signed in as an administrator (who can open every page) on ``commons up`` with the demo data. To check
another page, add its path to PAGES; for a form's error state, add its path and button to FORMS.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from litestar.routes import HTTPRoute
from playwright.async_api import Page, expect

from tests.browser.conftest import axe_violations
from tests.browser.staff_steps import new_staff_page
from tests.browser.test_staff_register_in_a_browser import book_by_phone
from web.app import create_app

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
    "/staff/series/{series}",
    "/staff/people/{staff}/edit",
    "/staff/people/{staff}/invitation",  # the link was shown once already: the "no link to show" page
    "/staff/sign-in",
    "/staff/password-reset",
    "/staff/password/{token}",  # a dead link: the 410 page
    "/staff/referrals",  # an administrator is not a link worker: the "not linked" page
    "/staff/referrals/new",
    "/staff/referrals/report",
    "/staff/referrals/api-keys",
    "/staff/referrals/{referral}/cancel",
    "/staff/no-such-page",  # 404
]

#: GET routes checked by the states test below (they need a booking made, or a form sent, first).
CHECKED_IN_STATES = {"/staff/bookings/{booking}/booked", "/staff/bookings/{booking}/cancel"}

#: GET routes with no page for axe to check, and why.
EXEMPT = {
    "/staff/reports.csv": "a CSV download, not a page",
    "/staff/sessions/{session}/register.csv": "a CSV download, not a page",
}

_PARAMETER = re.compile(r"\{(\w+?)(?:_id)?(?::\w+)?\}")

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
        series = db.execute("SELECT id FROM series ORDER BY id LIMIT 1").fetchone()
        (staff,) = db.execute("SELECT id FROM staff_member ORDER BY id LIMIT 1").fetchone()
    return {"venue": venue, "room": room, "activity": activity, "partner": partner, "session": session,
            "series": series[0] if series else 0, "staff": staff, "referral": 1, "token": "1.not-a-real-token"}


def staff_get_routes() -> set[str]:
    """Every GET page under /staff, with its parameters written as PAGES writes them (``{venue}``)."""
    paths = set()
    for route in create_app().routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/staff"):
            if any("GET" in handler.http_methods for handler in route.route_handlers):
                paths.add(_PARAMETER.sub(r"{\1}", route.path))
    return paths


def test_every_staff_page_is_checked_by_axe_or_exempt_with_a_reason():
    routes = staff_get_routes()
    listed = {path.split("?")[0] for path in PAGES} | CHECKED_IN_STATES
    missing = sorted(routes - listed - set(EXEMPT))
    assert not missing, f"staff pages with no axe check (add them to PAGES, or to EXEMPT with a reason): {missing}"
    stale = sorted((set(EXEMPT) | CHECKED_IN_STATES) - routes)
    assert not stale, f"EXEMPT or CHECKED_IN_STATES lists pages that no longer exist: {stale}"


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


def _two_sessions_at_one_venue(data_dir: Path) -> dict:
    """Two upcoming sessions at one venue, the first one's room and local times, for forms that clash with it."""
    with sqlite3.connect(data_dir / "commons.sqlite3") as db:
        rows = db.execute(
            "SELECT session.id, session.room, room.venue, session.starts_at, session.ends_at, venue.time_zone, "
            "session.activity, session.capacity, room.capacity FROM session JOIN room ON room.id = session.room JOIN venue ON venue.id = room.venue "
            "WHERE session.status = 'scheduled' AND session.starts_at > datetime('now', '+1 day') "
            "ORDER BY room.venue, session.starts_at"
        ).fetchall()
    by_venue: dict[int, list] = {}
    for row in rows:
        by_venue.setdefault(row[2], []).append(row)
    first, second = next(  # the second fits the first one's room: the form then stops at the clash itself
        (one, other) for found in by_venue.values() for one in found for other in found
        if other[0] != one[0] and other[7] <= one[8]
    )
    zone = ZoneInfo(first[5])
    start = datetime.fromisoformat(first[3]).astimezone(zone)
    end = datetime.fromisoformat(first[4]).astimezone(zone)
    return {"clashing": first[0], "other": second[0], "room": first[1], "venue": first[2], "activity": first[6],
            "date": start.date().isoformat(), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def _copy_of_a_session(data_dir: Path) -> int:
    """A new empty session (a copy of a demo one, two days ahead) that this test alone books and moves."""
    with sqlite3.connect(data_dir / "commons.sqlite3") as db:
        (source,) = db.execute("SELECT id FROM session WHERE status = 'scheduled' ORDER BY id LIMIT 1").fetchone()
        columns = [row[1] for row in db.execute("PRAGMA table_info(session)") if row[1] != "id"]
        start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        fixed = {"booked": "0", "held": "0", "series": "NULL", "starts_at": "?", "ends_at": "?"}
        picked = ", ".join(fixed.get(name, name) for name in columns)
        cursor = db.execute(
            f"INSERT INTO session ({', '.join(columns)}) SELECT {picked} FROM session WHERE id = ?",
            (str(start), str(start + timedelta(hours=1)), source),
        )
        return cursor.lastrowid


def _move_into_the_past_with_attendance(data_dir: Path, session_id: int) -> None:
    """Yesterday's session, its bookings marked attended: the reports' charts have bars to draw."""
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    with sqlite3.connect(data_dir / "commons.sqlite3") as db:
        db.execute("UPDATE session SET starts_at = ?, ends_at = ? WHERE id = ?",
                   (str(start), str(start + timedelta(hours=1)), session_id))
        db.execute("UPDATE booking SET attendance = 'attended' WHERE session = ?", (session_id,))


async def _send(page: Page, button: str) -> None:
    await page.locator("main").get_by_role("button", name=button, exact=True).first.click()


async def test_staff_pages_in_their_other_states_have_no_axe_violations(browser, commons_up, commons_up_dir):
    """The booked page, room clash panels, a cancel form with an error, and reports with data to chart."""
    page = await new_staff_page(browser, commons_up_dir, commons_up, "admin")
    found: dict[str, list] = {}

    session_id = _copy_of_a_session(commons_up_dir)
    await book_by_phone(page, commons_up, session_id, "Ada Lovelace", "ada.axe@example.org", "Needs a ramp")
    assert re.search(r"/staff/bookings/\d+/booked$", page.url), page.url
    found["booked"] = await axe_violations(page)
    await page.goto(page.url.replace("/booked", "/cancel"))
    found["cancel a booking for someone"] = await axe_violations(page)
    await _send(page, "Cancel their booking")  # without saying how they asked
    await expect(page.locator(".error-summary")).to_be_visible()
    found["cancel a booking for someone, with an error"] = await axe_violations(page)

    clash = _two_sessions_at_one_venue(commons_up_dir)
    await page.goto(f"{commons_up}/staff/venues/{clash['venue']}/sessions/new")
    await page.locator("#activity_id").select_option(str(clash["activity"]))
    await page.locator("#room_id").select_option(str(clash["room"]))
    for name in ("date", "start", "end"):
        await page.locator(f"#{name}").fill(clash[name])
    await _send(page, "Schedule session")
    await expect(page.locator(".clash-panel")).to_be_visible()
    found["new session with a room clash"] = await axe_violations(page)

    await page.goto(f"{commons_up}/staff/sessions/{clash['other']}/edit")
    await page.locator("#room_id").select_option(str(clash["room"]))
    for name in ("date", "start", "end"):
        await page.locator(f"#{name}").fill(clash[name])
    scope = page.locator("#scope-one")
    if await scope.count():
        await scope.check()
    await _send(page, "Save changes")
    await expect(page.locator(".clash-panel")).to_be_visible()
    found["session edit with a room clash"] = await axe_violations(page)

    await page.goto(f"{commons_up}/staff/sessions/{clash['other']}/cancel")
    message = page.locator("#message")
    await message.evaluate("element => element.removeAttribute('maxlength')")  # as a browser without it would
    await message.fill("x" * 1001)
    await _send(page, "Cancel session")
    await expect(page.locator(".error-summary")).to_be_visible()
    found["cancel session with an error"] = await axe_violations(page)

    _move_into_the_past_with_attendance(commons_up_dir, session_id)
    await page.goto(f"{commons_up}/staff/reports")
    await expect(page.locator("main svg.chart rect").first).to_be_attached()
    found["reports with data"] = await axe_violations(page)

    assert {name: violations for name, violations in found.items() if violations} == {}
