"""Finding sessions in a real browser: What's on filters with JavaScript (htmx) and without, activity and venue pages."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser

COUNT = re.compile(r"^(No sessions found|1 session found|\d+ sessions found)")


async def count_text(page: Page) -> str:
    await expect(page.locator("#results-count")).to_have_text(COUNT)
    return (await page.locator("#results-count").inner_text()).strip()


async def test_filters_update_the_results_the_url_and_history_with_javascript(browser, commons_up):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(commons_up + "/whats-on")
    everything = await count_text(page)
    await page.evaluate("window.stillTheSamePage = true")

    await page.get_by_label("Type of activity").select_option(label="Health checks")
    await page.wait_for_url(re.compile(r"/whats-on\?.*category=health_check"))
    await expect(page.locator("#results-count")).not_to_have_text(everything)
    health_checks = await count_text(page)
    titles = await page.locator("#results .session-card h3").all_inner_texts()
    assert titles and set(titles) <= {"NHS Health Check", "Blood pressure check"}

    # Ticking a day keeps focus on the checkbox (data-keep-focus) while the results change under it.
    thursday = page.get_by_label("Thursday")
    await thursday.focus()
    await page.keyboard.press("Space")
    await page.wait_for_url(re.compile(r"day=thursday"))
    await expect(page.locator("#results-count")).not_to_have_text(health_checks)
    await expect(thursday).to_be_focused()
    thursdays = await count_text(page)
    assert await page.evaluate("window.stillTheSamePage") is True  # no full page load

    # Back restores the previous search; the shared URL opens the same results in a fresh browser.
    shared_url = page.url
    await page.go_back()
    await page.wait_for_url(re.compile(r"category=health_check(?!.*day=)"))
    await expect(page.locator("#results-count")).to_have_text(health_checks)
    await expect(page.get_by_label("Thursday")).not_to_be_checked()

    other = await browser.new_context()
    fresh = await other.new_page()
    await fresh.goto(shared_url)
    await expect(fresh.locator("#results-count")).to_have_text(thursdays)
    await expect(fresh.get_by_label("Thursday")).to_be_checked()
    await expect(fresh.get_by_label("Type of activity")).to_have_value("health_check")
    await other.close()
    await context.close()


async def test_filters_work_as_a_plain_form_without_javascript(browser, commons_up):
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(commons_up + "/whats-on")
    await page.get_by_label("Type of activity").select_option(label="Health checks")
    await page.get_by_label("Thursday").check()
    await page.get_by_role("button", name="Show results").click()
    await page.wait_for_url(re.compile(r"category=health_check.*day=thursday"))
    plain = await count_text(page)
    await expect(page.get_by_label("Thursday")).to_be_checked()

    scripted = await browser.new_context()
    same = await scripted.new_page()
    await same.goto(commons_up + "/whats-on?category=health_check&day=thursday")
    await expect(same.locator("#results-count")).to_have_text(plain)
    await scripted.close()
    await context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_a_bad_postcode_shows_an_error_summary_that_links_to_the_field(browser, commons_up, javascript):
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    await page.goto(commons_up + "/whats-on")
    await page.get_by_label("Near postcode").fill("WS99 1AA")
    await page.get_by_role("button", name="Show results").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("We do not have WS99 in our list of local postcodes.")
    await expect(page).to_have_title(re.compile(r"^Error: What's on"))
    await expect(page.get_by_label("Near postcode")).to_have_value("WS99 1AA")
    await summary.get_by_role("link").click()
    await expect(page.get_by_label("Near postcode")).to_be_focused()
    await context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_from_a_result_to_the_venue_and_activity_pages(browser, commons_up, javascript):
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    await page.goto(commons_up + "/whats-on?venue=hednesford")
    await page.locator("#results .session-card").first.get_by_role("link", name="Hednesford Library").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hednesford Library")
    await expect(page.locator("main")).to_contain_text("WS12 1AD")
    await expect(page.locator("main")).to_contain_text("Saturday 10am to 1pm")
    await expect(page.get_by_role("heading", name="Accessibility")).to_be_visible()

    await page.goto(commons_up + "/activities/nhs-health-check")
    await expect(page.get_by_role("heading", level=1)).to_have_text("NHS Health Check")
    await expect(page.locator("main")).to_contain_text(
        "Booking opens 3 weeks before each session and closes 3 hours before it starts."
    )
    await expect(page.locator("main")).to_contain_text("You can book 1 place.")
    await page.locator(".session-card a").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("NHS Health Check")
    await context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
async def test_find_pages_have_no_accessibility_violations(browser, commons_up, javascript):
    # axe-core runs as a script in the page, so "without JavaScript" here means without the site's scripts
    # (htmx and app.js are not loaded): the page as a browser without JavaScript shows it.
    context = await browser.new_context()
    if not javascript:
        await context.route(re.compile(r"/static/.*\.js$"), lambda route: route.abort())
    page = await context.new_page()
    pages = {
        "home": "/",
        "what's on": "/whats-on",
        "what's on, page 2": "/whats-on?page=2",
        "no results": "/whats-on?category=health_check&time=evening",
        "errors": "/whats-on?near=WS99&from=banana&to=2020-01-01",
        "activity": "/activities/chair-yoga",
        "venue": "/venues/brewood",
    }
    checked = {}
    for name, path in pages.items():
        await page.goto(commons_up + path)
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        checked[name] = await axe_violations(page)
    if javascript:  # and after htmx has swapped in results and an error
        await page.goto(commons_up + "/whats-on")
        await page.get_by_label("Near postcode").fill("nowhere")
        await page.get_by_role("button", name="Show results").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        checked["errors after a swap"] = await axe_violations(page)
    assert {name: v for name, v in checked.items() if v} == {}
    await context.close()
