"""Home, What's on, activity and venue pages over HTTP: plain GET, htmx partials, bad input, 404s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.search import SearchFilters, search_sessions
from booking.states import ActivityCategory
from booking.tables import Activity, Venue
from tests.builders import make_activity, make_room, make_session, make_venue

HTMX = {"HX-Request": "true", "HX-Target": "results", "HX-Current-URL": "http://testserver.local/whats-on"}


async def test_home_has_a_search_form_category_links_and_the_next_sessions(client):
    await make_session(capacity=3, starts_in=timedelta(minutes=30))
    response = await client.get("/")
    assert response.status_code == 200
    text = response.text
    assert '<form class="quick-search" method="get" action="/whats-on">' in text
    assert '<select class="select" id="category" name="category">' in text and 'id="near" name="near"' in text
    for category in ActivityCategory:
        assert f'href="/whats-on?category={category.value}"' in text
    upcoming = await search_sessions(SearchFilters(), datetime.now(UTC), page_size=8)
    assert upcoming.sessions and all(f'href="/sessions/{s.id}"' in text for s in upcoming.sessions)
    assert text.count('class="session-card"') == len(upcoming.sessions) <= 8


async def test_home_page_is_small_when_compressed(client):
    total = 0
    for path in ("/", "/static/site.css", "/static/htmx.min.js", "/static/app.js"):
        response = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        total += int(response.headers.get("content-length") or len(response.content))
    assert total < 50_000


async def test_whats_on_is_a_plain_get_form_with_results(client):
    activity = await make_activity(title="Pottery for beginners", category=ActivityCategory.CRAFT.value)
    session = await make_session(activity=activity, capacity=4)
    response = await client.get("/whats-on?category=craft&venue=&near=&within=5&has_places=yes")
    assert response.status_code == 200
    text = response.text
    assert '<form id="filters" method="get" action="/whats-on"' in text
    assert 'hx-push-url="true"' in text and 'hx-target="#results"' in text and "data-keep-focus" in text
    assert '<option value="craft" selected>' in text
    assert 'name="has_places" type="checkbox" value="yes" checked' in text
    assert f'href="/sessions/{session.id}"' in text and "Pottery for beginners" in text
    assert '<p id="results-count" class="results-count" role="status">' in text
    assert "sessions found" in text or "1 session found" in text
    assert '<legend class="legend">Days of the week</legend>' in text
    assert "<title>What's on" in text


async def test_an_htmx_request_gets_only_the_results(client):
    activity = await make_activity(title="Watercolour club")
    # The soonest yoga session of the shared test database, so it is on the first page of results.
    session = await make_session(activity=activity, starts_in=timedelta(seconds=90))
    response = await client.get("/whats-on?category=yoga_and_movement", headers=HTMX)
    assert response.status_code == 200
    text = response.text
    assert "<html" not in text and "<body" not in text
    assert f'href="/sessions/{session.id}"' in text
    assert '<p id="results-count" hx-swap-oob="innerHTML">' in text
    assert 'id="error-area" hx-swap-oob="true"' in text
    assert "data-focus-after-swap" in text


async def test_history_restore_gets_the_full_page(client):
    response = await client.get("/whats-on?category=craft", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert response.status_code == 200 and "<html" in response.text


async def test_invalid_filters_show_an_error_summary_keep_the_input_and_still_show_results(client):
    response = await client.get("/whats-on?near=WS99+1AA&from=banana&category=craft")
    assert response.status_code == 200
    text = response.text
    assert "<title>Error: What's on" in text
    assert '<div class="error-summary" role="alert"' in text
    assert '<a href="#near">We do not have WS99 in our list of local postcodes.' in text
    assert '<a href="#from">The start date must be a real date, like 2027-03-03</a>' in text
    assert 'value="WS99 1AA"' in text and 'value="banana"' in text
    assert 'aria-invalid="true"' in text
    assert '<option value="craft" selected>' in text  # the good filter still applies
    assert 'id="results"' in text


async def test_invalid_filters_by_htmx_update_the_summary_and_title(client):
    response = await client.get("/whats-on?near=nowhere", headers=HTMX)
    assert response.status_code == 200
    assert "<title>Error: What's on" in response.text
    assert "Enter a real postcode, like WS11 1DB" in response.text
    assert 'id="near-group" hx-swap-oob="true"' in response.text


@pytest.mark.parametrize(
    "query",
    [
        "page=-1&from=banana&day=funday&near=%00",
        "page=99999999999999999999&to=9999-99-99&within=%ff",
        "category=%00&venue=%27%3B--&access=%3Cscript%3E&time=noon&has_places=%00",
        "near=" + "A" * 5000,
        "from=2026-02-29&to=0000-01-01",
        "day=monday&day=monday&" + "&".join(f"x{n}=1" for n in range(100)),
    ],
)
async def test_junk_never_gives_a_500(client, query):
    response = await client.get(f"/whats-on?{query}")
    assert response.status_code == 200
    assert "<script>" not in response.text and "\x00" not in response.text


async def test_pagination_links_keep_the_filters(client):
    activity = await make_activity()
    room = await make_room()
    for n in range(23):
        await make_session(activity=activity, room=room, starts_in=timedelta(days=2, hours=n))
    await Activity.update({Activity.category: ActivityCategory.DIGITAL_SKILLS.value}).where(Activity.id == activity.id)
    venue_slug = (await Venue.select(Venue.slug).where(Venue.id == room.venue).first())["slug"]
    response = await client.get(f"/whats-on?venue={venue_slug}&category=digital_skills")
    text = response.text
    assert "23 sessions found" in text and "Results, page 1 of 2" in text
    next_url = f"/whats-on?category=digital_skills&amp;venue={venue_slug}&amp;page=2"
    assert f'href="{next_url}" hx-get="{next_url}" hx-target="#results" hx-push-url="true" rel="next"' in text
    second = await client.get(f"/whats-on?venue={venue_slug}&category=digital_skills&page=2")
    assert "Results, page 2 of 2" in second.text and second.text.count('class="session-card"') == 3
    assert 'aria-current="page" aria-label="Page 2"' in second.text


async def test_activity_page_shows_rules_partner_and_sessions(client):
    activity = await make_activity(
        title="Tai chi", booking_opens_days=14, booking_closes_hours=2, max_active_bookings=1
    )
    session = await make_session(activity=activity, max_party_size=4)
    response = await client.get(f"/activities/{activity.slug}")
    assert response.status_code == 200
    text = response.text
    assert "<h1>Tai chi</h1>" in text and "Yoga and movement" in text
    assert "Booking opens 2 weeks before each session and closes 2 hours before it starts." in text
    assert "You can book up to 4 places." in text
    assert "You can have 1 upcoming booking for this activity at a time." in text
    assert "Run with Partner-" in text
    assert f'href="/sessions/{session.id}"' in text


async def test_venue_page_shows_address_hours_access_and_sessions(client):
    venue = await make_venue(
        opening_hours="Monday 9am to 5pm\nTuesday 9am to 1pm", phone="01632 960999", accessibility="Level entrance."
    )
    room = await make_room(venue, name="Garden room", hearing_loop=True, accessibility_notes="Through the garden.")
    session = await make_session(room=room)
    response = await client.get(f"/venues/{venue.slug}")
    assert response.status_code == 200
    text = response.text
    assert "1 High Street<br>Hednesford<br>WS12 1AA" in text
    assert "<li>Monday 9am to 5pm</li><li>Tuesday 9am to 1pm</li>" in text
    assert "01632 960999" in text and "Level entrance." in text
    assert "Garden room" in text and "Through the garden." in text
    assert f'href="/sessions/{session.id}"' in text


@pytest.mark.parametrize(
    "path",
    [
        "/activities/no-such-thing",
        "/venues/no-such-place",
        "/venues/UPPER",
        "/activities/" + "a" * 200,
        "/venues/a%00b",
        "/activities/-x-",
    ],
)
async def test_unknown_or_odd_slugs_are_a_friendly_404(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_archived_activity_and_venue_are_404(client):
    activity = await make_activity()
    venue = await make_venue()
    await Activity.update({Activity.archived: True}).where(Activity.id == activity.id)
    await Venue.update({Venue.archived: True}).where(Venue.id == venue.id)
    assert (await client.get(f"/activities/{activity.slug}")).status_code == 404
    assert (await client.get(f"/venues/{venue.slug}")).status_code == 404
