"""Steps the staff browser tests share: an account made with ``commons staff create``, and signing in with it."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

from playwright.async_api import Page, expect

from tests.support.services import commons_env

STAFF_PASSWORD = "library cat waves hello"
LINK = re.compile(r"(/staff/password/\S+)")


def create_staff_account(data_dir: Path, base_url: str, role: str, venues: tuple[str, ...] = ()) -> tuple[str, str]:
    """Run ``commons staff create`` against the running ``commons up`` database: ``(email, set-password path)``."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@staff.example.org"
    args = [sys.executable, "-m", "commons.cli", "staff", "create", "--email", email, "--role", role]
    for slug in venues:
        args += ["--venue", slug]
    env = commons_env(f"sqlite:///{data_dir}/commons.sqlite3", data_dir, COMMONS_BASE_URL=base_url)
    env.pop("COMMONS_DATABASE_URL")  # the same embedded default `commons up` uses
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    match = LINK.search(result.stdout)
    assert match, result.stdout
    return email, match.group(1)


async def set_password_and_sign_in(page: Page, base_url: str, link_path: str, email: str) -> None:
    """Open the one-time link, choose a password, then sign in with it (the real first-day journey)."""
    await page.goto(base_url + link_path)
    await page.get_by_label("New password", exact=True).fill(STAFF_PASSWORD)
    await page.get_by_label("Type the new password again").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Save password").click()
    await expect(page.get_by_text("Your password is saved")).to_be_visible()
    await sign_in_staff(page, base_url, email)


async def sign_in_staff(page: Page, base_url: str, email: str, password: str = STAFF_PASSWORD) -> None:
    if not page.url.startswith(base_url + "/staff/sign-in"):
        await page.goto(base_url + "/staff/sign-in")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def new_staff_page(browser, commons_up_dir: Path, base_url: str, role: str, venues=(), **context_options) -> Page:
    """A fresh browser context signed in as a new account of ``role``."""
    email, link = create_staff_account(commons_up_dir, base_url, role, tuple(venues))
    context = await browser.new_context(**context_options)
    page = await context.new_page()
    await set_password_and_sign_in(page, base_url, link, email)
    return page


def create_link_worker_account(data_dir: Path, base_url: str, partner: str) -> tuple[str, str]:
    """``commons staff create --role partner --partner …`` (an id or exact name): ``(email, set-password path)``."""
    email = f"link-worker-{uuid.uuid4().hex[:8]}@staff.example.org"
    args = [sys.executable, "-m", "commons.cli", "staff", "create", "--email", email, "--role", "partner"]
    env = commons_env(f"sqlite:///{data_dir}/commons.sqlite3", data_dir, COMMONS_BASE_URL=base_url)
    env.pop("COMMONS_DATABASE_URL")  # the same embedded default `commons up` uses
    result = subprocess.run([*args, "--partner", partner], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    match = LINK.search(result.stdout)
    assert match, result.stdout
    return email, match.group(1)
