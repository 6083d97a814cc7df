"""A coordinator schedules a weekly series in Chromium: the clash with a demo session is named, then resolved."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.async_api import expect

from tests.browser.resident_steps import axe_as_shown
from tests.browser.staff_steps import new_staff_page

pytestmark = pytest.mark.browser


def next_tuesday() -> date:
    today = date.today()
    return today + timedelta(days=(1 - today.weekday()) % 7 or 7)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_a_weekly_series_clash_is_shown_and_resolved(browser, commons_up, commons_up_dir, javascript):
    # Brewood's one room has the demo's Reading Well book group every Tuesday, 10am to 11:30am.
    page = await new_staff_page(
        browser, commons_up_dir, commons_up, "coordinator", ("brewood",), java_script_enabled=javascript
    )
    await page.goto(commons_up + "/staff/programme")
    await page.get_by_role("link", name="new series at Brewood Library").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New series at Brewood Library")

    await page.get_by_label("Activity").select_option(label="Shared Reading")
    await page.get_by_label("Room").select_option(label="Community room (holds 16)")
    await page.get_by_label("Date of the first session").fill(next_tuesday().isoformat())
    await page.get_by_label("Start time").fill("10:30")
    await page.get_by_label("End time").fill("11:30")
    await page.get_by_label("Number of places", exact=True).fill("10")
    await page.get_by_role("radio", name="Every week").check()
    await page.get_by_label("Number of sessions").fill("6")
    await page.get_by_role("button", name="Schedule series").click()

    # The clash: every clashing date named, with the session in the way and a suggestion.
    await expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("dates clash with sessions already in the room. Nothing has been saved")
    clashes = page.locator("#clashes")
    await expect(clashes.get_by_role("link", name=re.compile(
        r"^Reading Well book group is in Community room from 10am to 11:30am on Tuesday"))).to_have_count(4)
    if javascript:
        await expect(summary).to_be_focused()
    assert await axe_as_shown(page) == []

    if javascript:
        # Take the suggested time (the room is free after Reading Well): the form is filled in, then saved.
        await clashes.get_by_role("link", name=re.compile(r"^Use 11:30am on Tuesday .* for the series$")).first.click()
        await expect(page.get_by_text("We have filled in the suggestion.")).to_be_visible()
        await expect(page.get_by_label("Start time")).to_have_value("11:30")
        await expect(page.get_by_label("End time")).to_have_value("12:30")
        sessions, when = 6, "11:30am on Tuesday"
    else:
        # Skip the clashing dates instead: the link fills them in, then the series is saved without them.
        await clashes.get_by_role("link", name="Skip all 4 clashing dates").click()
        await expect(page.get_by_text("We have filled in the suggestion.")).to_be_visible()
        skipped = [next_tuesday() + timedelta(weeks=week) for week in range(4)]
        await expect(page.get_by_label("Dates to skip (optional)")).to_have_value(" ".join(d.isoformat() for d in skipped))
        sessions, when = 2, "10:30am on Tuesday"
    await page.get_by_role("button", name="Schedule series").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Shared Reading series")
    await expect(page.get_by_text("The series is in the programme.")).to_be_visible()
    await expect(page.locator("tbody").get_by_role("row")).to_have_count(sessions)
    await expect(page.locator("tbody")).to_contain_text(when)
    assert await axe_as_shown(page) == []
