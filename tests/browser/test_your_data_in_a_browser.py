"""Your data in a real browser, with and without JavaScript: download, read, change preferences, delete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.resident_steps import axe_as_shown, book_first_session, new_email, sign_in

pytestmark = pytest.mark.browser


async def no_violations(page: Page, checked: dict[str, list], name: str) -> None:
    checked[name] = await axe_as_shown(page)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_resident_downloads_changes_and_deletes_their_data(browser, commons_up, javascript):
    context = await browser.new_context(java_script_enabled=javascript, accept_downloads=True)
    page = await context.new_page()
    email = new_email(f"data{int(javascript)}")
    reference = await book_first_session(page, commons_up, name="Octavia Hill", email=email)
    await sign_in(page, commons_up, email)
    checked: dict[str, list] = {}

    await page.goto(commons_up + "/my-data")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    await expect(page.locator("main")).to_contain_text(email)
    await no_violations(page, checked, "your data")

    # Download everything as JSON.
    async with page.expect_download(timeout=15_000) as download_info:
        await page.get_by_role("link", name="Download your data (JSON file)").click()
    download = await download_info.value
    assert download.suggested_filename == "commons-my-data.json"
    data = json.loads(Path(await download.path()).read_text())
    assert data["resident"]["email"] == email
    assert reference in [booking["reference"] for booking in data["bookings"]]

    # The same, readable.
    await page.get_by_role("link", name="See all your data on one page").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("All your data")
    await expect(page.locator("main")).to_contain_text(reference)
    await no_violations(page, checked, "all your data")

    # Texts need a mobile number on record: an error summary, the choice kept.
    await page.goto(commons_up + "/my-data")
    await page.get_by_role("checkbox", name="By text message").check()
    await page.get_by_role("button", name="Save contact preferences").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("We do not have a mobile number for you")
    await expect(page).to_have_title(re.compile(r"^Error: "))
    await expect(page.get_by_role("checkbox", name="By text message")).to_be_checked()
    if javascript:
        await expect(summary).to_be_focused()
    await no_violations(page, checked, "preferences with an error")

    # Stop emails: one untick and Save.
    await page.get_by_role("checkbox", name="By text message").uncheck()
    await page.get_by_role("checkbox", name="By email").uncheck()
    await page.get_by_role("button", name="Save contact preferences").click()
    saved = page.get_by_text("Your contact preferences have been saved.")
    await expect(saved).to_be_visible()
    await expect(page.locator("#contact-preferences")).to_contain_text("No, you stopped them")
    await expect(page).not_to_have_title(re.compile(r"^Error: "))
    if javascript:
        await expect(saved).to_be_focused()
    await no_violations(page, checked, "preferences saved")

    # Delete: the box must be ticked.
    await page.get_by_role("link", name="Delete your data").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Delete your data")
    await no_violations(page, checked, "delete")
    await page.get_by_role("button", name="Delete my data").click()
    await expect(page.locator(".error-summary")).to_contain_text("Tick the box to confirm")
    await expect(page).to_have_title(re.compile(r"^Error: "))
    await no_violations(page, checked, "delete with an error")
    await page.get_by_label("Yes, delete my data").check()
    await page.get_by_role("button", name="Delete my data").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your data has been deleted")
    await no_violations(page, checked, "deleted")

    # Signed out: "Your data" now asks to sign in again.
    await page.goto(commons_up + "/my-data")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Find my bookings")
    assert {name: found for name, found in checked.items() if found} == {}
    await context.close()
