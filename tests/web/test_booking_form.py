"""Booking through the session page: plain form posts, htmx swaps and CSRF."""

from __future__ import annotations

import re

from booking.tables import Booking, Session
from tests.builders import make_session
from tests.web.conftest import csrf_token, submit_booking

REFERENCE = re.compile(r'<strong class="reference">([A-Z0-9]{3}-[A-Z0-9]{3})</strong>')


async def bookings_on(session_id: int) -> int:
    return await Booking.count().where(Booking.session == session_id)


async def test_booking_redirects_to_a_confirmation_with_the_reference(client):
    session = await make_session(capacity=5)
    response = await submit_booking(client, session.id, name="Grace Hopper", email="grace@example.com", party_size="2")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/bookings/") and location.endswith("/confirmation")

    page = await client.get(location)
    assert page.status_code == 200
    assert "Booking confirmed" in page.text
    reference = REFERENCE.search(page.text).group(1)
    assert location == f"/bookings/{reference}/confirmation"
    booking = await Booking.objects().where(Booking.reference == reference).first()
    assert booking.party_size == 2 and booking.source == "online"
    assert page.headers["cache-control"] == "no-store"
    assert 'href="/bookings/manage/' in page.text
    assert (await Session.select(Session.booked).where(Session.id == session.id).first())["booked"] == 2


async def test_another_browser_cannot_see_the_confirmation(client, other_client):
    session = await make_session()
    location = (await submit_booking(client, session.id)).headers["location"]
    assert (await client.get(location)).status_code == 200
    response = await other_client.get(location)
    assert response.status_code == 404
    assert "Booking confirmed" not in response.text


async def test_validation_errors_re_render_the_form_and_book_nothing(client):
    session = await make_session(max_party_size=2)
    response = await submit_booking(client, session.id, name="Ada <b>L</b>", email="not-an-email", party_size="9")
    assert response.status_code == 400
    text = response.text
    assert re.search(r"<title>Error: ", text)
    assert 'class="error-summary"' in text
    assert '<a href="#email">Enter an email address in the correct format, like name@example.com</a>' in text
    assert '<a href="#party_size">You can book up to 2 places for this activity</a>' in text
    assert 'value="Ada &lt;b&gt;L&lt;/b&gt;"' in text  # kept, and escaped
    assert 'value="not-an-email"' in text
    assert 'aria-invalid="true"' in text
    assert await bookings_on(session.id) == 0


async def test_a_full_session_says_so_with_409(client):
    session = await make_session(capacity=1)
    token = await csrf_token(client, f"/sessions/{session.id}")
    await Session.update({Session.booked: 1}).where(Session.id == session.id)
    form = {"name": "Ada", "email": "ada-full@example.com", "party_size": "1", "_csrf_token": token}
    response = await client.post(f"/sessions/{session.id}/book", data=form)
    assert response.status_code == 409
    assert "Sorry, there are not enough places left on this session." in response.text
    assert "<title>Error: " in response.text
    assert await bookings_on(session.id) == 0


async def test_booking_twice_says_already_booked(client):
    session = await make_session()
    assert (await submit_booking(client, session.id, email="twice@example.com")).status_code == 303
    response = await submit_booking(client, session.id, email="twice@example.com")
    assert response.status_code == 409
    assert "You already have a booking for this session." in response.text


async def test_post_without_csrf_token_is_refused_and_books_nothing(client):
    session = await make_session()
    await client.get(f"/sessions/{session.id}")  # the browser has the CSRF cookie, the attacker's form has no token
    form = {"name": "Mallory", "email": "mallory@example.com", "party_size": "1"}
    response = await client.post(f"/sessions/{session.id}/book", data=form)
    assert response.status_code == 403
    assert "Your form has expired" in response.text
    assert await bookings_on(session.id) == 0


async def test_htmx_gets_only_the_form_partial_on_errors(client):
    session = await make_session()
    token = await csrf_token(client, f"/sessions/{session.id}")
    response = await client.post(
        f"/sessions/{session.id}/book",
        data={"name": "", "email": "", "party_size": "1"},
        headers={"HX-Request": "true", "x-csrftoken": token},
    )
    assert response.status_code == 400
    assert '<section id="booking-form"' in response.text
    assert "<html" not in response.text and "<header" not in response.text
    assert "Enter your full name" in response.text


async def test_htmx_success_redirects_with_hx_redirect(client):
    session = await make_session()
    response = await submit_booking(client, session.id, headers={"HX-Request": "true"}, email="htmx@example.com")
    assert response.status_code == 200
    location = response.headers["hx-redirect"]
    assert location.endswith("/confirmation")
    assert "Booking confirmed" in (await client.get(location)).text


async def test_cancelled_session_page_has_no_form(client):
    from booking.states import SessionStatus

    session = await make_session(status=SessionStatus.CANCELLED)
    response = await client.get(f"/sessions/{session.id}")
    assert "This session has been cancelled" in response.text
    assert 'name="_csrf_token"' not in response.text.split('id="booking-form"', 1)[1]


async def test_cookies_are_httponly_lax_and_secure_behind_https(db, data_dir):
    from tests.web.conftest import browser, web_settings

    settings = web_settings(db, data_dir, COMMONS_BASE_URL="https://commons.example")
    session = await make_session()
    async with browser(settings) as client:
        client.base_url = "https://testserver.local"
        response = await submit_booking(client, session.id, email="https@example.com")
    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("commons_session="))
    for attribute in ("HttpOnly", "Secure", "SameSite=lax"):
        assert attribute in session_cookie
