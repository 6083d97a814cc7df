"""A new administrator's first day in Chromium: set a password from the link, sign in, look around, sign out.

axe-core runs on every account page, with its errors shown too.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.resident_steps import axe_as_shown
from tests.browser.staff_steps import STAFF_PASSWORD, create_staff_account, sign_in_staff

pytestmark = pytest.mark.browser


async def check(page: Page, checked: dict[str, list], name: str) -> None:
    checked[name] = await axe_as_shown(page)


async def expect_error(page: Page, text: str) -> None:
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text(text)
    await expect(page).to_have_title(re.compile(r"^Error: "))


async def test_a_new_admin_sets_a_password_signs_in_and_out(browser, commons_up, commons_up_dir):
    email, link = create_staff_account(commons_up_dir, commons_up, "admin")
    context = await browser.new_context()
    page = await context.new_page()
    checked: dict[str, list] = {}

    # The one-time link: a password that is too short is refused, and never shown again.
    await page.goto(commons_up + link)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
    await check(page, checked, "set password")
    await page.get_by_label("New password", exact=True).fill("too short")
    await page.get_by_label("Type the new password again").fill("too short")
    await page.get_by_role("button", name="Save password").click()
    await expect_error(page, "Password must be 12 characters or more")
    await expect(page.get_by_label("New password", exact=True)).to_have_value("")
    await expect(page.locator(".error-summary")).to_be_focused()
    await check(page, checked, "set password with an error")

    await page.get_by_label("New password", exact=True).fill(STAFF_PASSWORD)
    await page.get_by_label("Type the new password again").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Save password").click()
    await expect(page.get_by_text("Your password is saved")).to_be_visible()
    await check(page, checked, "sign in")

    # A wrong password: an error, the address kept.
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill("not my password at all")
    await page.get_by_role("button", name="Sign in").click()
    await expect_error(page, "The email address or password is not right")
    await expect(page.get_by_label("Email address")).to_have_value(email)
    await expect(page.get_by_label("Password")).to_have_value("")
    await check(page, checked, "sign in with an error")

    # The right one: the dashboard.
    await sign_in_staff(page, commons_up, email)
    await expect(page).to_have_url(commons_up + "/staff")
    await expect(page.get_by_role("navigation", name="Staff")).to_contain_text("Staff accounts")

    await page.goto(commons_up + "/staff/account")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    await expect(page.locator("main")).to_contain_text(email)
    await check(page, checked, "account")
    await page.get_by_role("button", name="Change password").click()
    await expect_error(page, "Enter your current password")
    await check(page, checked, "account with errors")

    # Staff accounts: the list, the new-account form with its errors, and the link shown once.
    await page.get_by_role("link", name="Staff accounts").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Staff accounts")
    await expect(page.locator("main")).to_contain_text(email)
    await check(page, checked, "staff accounts")
    await page.get_by_role("link", name="Add a staff account").click()
    await check(page, checked, "new staff account")
    await page.get_by_role("radio", name="Coordinator").check()
    await page.get_by_role("button", name="Add account").click()
    await expect_error(page, "Enter an email address")
    await expect(page.get_by_role("radio", name="Coordinator")).to_be_checked()
    await check(page, checked, "new staff account with errors")
    await page.get_by_label("Email address").fill(f"colleague.{email}")
    await page.get_by_role("radio", name="Admin").check()
    await page.get_by_role("button", name="Add account").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Send them this link")
    await expect(page.get_by_label("Set-password link")).to_have_value(re.compile(r"/staff/password/\d+\."))
    await check(page, checked, "set-password link for a colleague")
    await page.get_by_role("link", name=re.compile("^Go to the account")).click()
    await check(page, checked, "a colleague's account")

    # Sign out: the staff pages ask to sign in again.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You have signed out.")).to_be_visible()
    await page.goto(commons_up + "/staff/account")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the staff pages")

    # Forgotten password, with an error and then sent; and the used link, now dead.
    await page.get_by_role("link", name="Forgotten your password?").click()
    await check(page, checked, "password reset")
    await page.get_by_label("Email address").fill("not an address")
    await page.get_by_role("button", name="Send me a link").click()
    await expect_error(page, "Enter an email address in the correct format")
    await check(page, checked, "password reset with an error")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    await check(page, checked, "password reset sent")
    response = await page.goto(commons_up + link)
    assert response is not None and response.status == 410
    await expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    await check(page, checked, "used set-password link")

    await context.close()
    assert {name: found for name, found in checked.items() if found} == {}
