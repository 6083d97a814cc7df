"""Home and session pages, security headers and friendly errors."""

from __future__ import annotations

from datetime import timedelta

from booking.states import SessionStatus
from tests.builders import make_session


async def test_home_lists_an_upcoming_session_with_places_left(client):
    # The home page shows the next 8 sessions of the shared test database: make this one the soonest.
    session = await make_session(capacity=3, starts_in=timedelta(seconds=60))
    response = await client.get("/")
    assert response.status_code == 200
    assert f'href="/sessions/{session.id}"' in response.text
    card = response.text.split(f'href="/sessions/{session.id}"', 1)[1].split("</li>", 1)[0]
    assert "3 places left" in card


async def test_home_leaves_out_a_cancelled_session(client):
    session = await make_session(status=SessionStatus.CANCELLED, starts_in=timedelta(seconds=30))
    response = await client.get("/")
    assert response.status_code == 200
    assert f'href="/sessions/{session.id}"' not in response.text


async def test_session_page_shows_details_and_a_labelled_form(client):
    session = await make_session(capacity=5, max_party_size=3)
    response = await client.get(f"/sessions/{session.id}")
    assert response.status_code == 200
    text = response.text
    assert "Chair yoga" in text and "WS12 1AA" in text and "5 places left" in text
    for field in ("name", "email", "phone", "party_size"):
        assert f'<label class="label" for="{field}">' in text
    assert "You can book up to 3 places." in text
    assert 'hx-post="/sessions/' in text


async def test_unknown_session_gets_a_friendly_404(client):
    response = await client.get("/sessions/999999999")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_unknown_route_gets_a_friendly_404_with_security_headers(client):
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/healthz", "/static/site.css", "/api/v1/sessions"):
        headers = (await client.get(path)).headers
        assert headers["content-security-policy"].startswith("default-src 'self'"), path
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"


async def test_pages_load_vendored_htmx_and_no_inline_script_or_style(client):
    session = await make_session()
    text = (await client.get(f"/sessions/{session.id}")).text
    assert '<script src="/static/htmx.min.js" defer></script>' in text
    assert "<style" not in text and "style=" not in text
    assert "<script>" not in text and "https://" not in text
    assert '"selfRequestsOnly":true' in text
    htmx = await client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_browsing_creates_no_server_side_session(client):
    session = await make_session()
    for path in ("/", f"/sessions/{session.id}", "/no/such/page"):
        cookies = (await client.get(path)).headers.get_list("set-cookie")
        assert not any(c.startswith("commons_session=") for c in cookies), path


async def test_pages_are_sent_compressed_when_the_browser_accepts_it(client):
    response = await client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == "gzip"
    assert "What's on" in response.text  # httpx decompresses: the page itself is intact
