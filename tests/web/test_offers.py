"""Waiting-list offer pages: opening the link changes nothing; the buttons accept or turn down the places."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from booking.clock import FixedClock, SystemClock
from booking.offer_links import offer_link_token
from booking.service import cancel_booking
from booking.states import SessionStatus
from booking.tables import Booking, Session, WaitlistOffer
from booking.waitlist import join_waitlist, offer_free_places
from commons.settings import DEV_SECRET_KEY
from tests.builders import fill_session, make_waitlist_session, resident, unique
from tests.web.conftest import csrf_token
from web.templating import local_moment

REFERENCE = re.compile(r'<strong class="reference">([A-Z0-9]{3}-[A-Z0-9]{3})</strong>')


async def an_offer(*, party_size: int = 2, clock=None) -> tuple[str, int, int]:
    """A full session, one resident waiting, places freed and offered: (link token, offer id, session id)."""
    clock = clock or SystemClock()
    session = await make_waitlist_session(capacity=4)
    bookings = await fill_session(session.id, 4, party_size=2)
    await join_waitlist(session.id, resident(unique("offered")), party_size, clock)
    await cancel_booking(bookings[0].reference, authorised=True)
    [offer] = await offer_free_places(session.id, clock)
    return await offer_link_token(DEV_SECRET_KEY, offer.offer_id), offer.offer_id, session.id


async def offer_status(offer_id: int) -> str:
    return (await WaitlistOffer.select(WaitlistOffer.status).where(WaitlistOffer.id == offer_id).first())["status"]


async def post_button(client, token: str, action: str):
    form_token = await csrf_token(client, f"/offers/{token}")
    return await client.post(f"/offers/{token}/{action}", data={"_csrf_token": form_token})


async def test_the_offer_page_shows_the_places_and_when_the_offer_runs_out(client):
    token, offer_id, _ = await an_offer()
    response = await client.get(f"/offers/{token}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert "<h1>Places are free for you</h1>" in text
    assert "2 places are held for you on this session." in text and "Chair yoga" in text
    offer = await WaitlistOffer.objects().where(WaitlistOffer.id == offer_id).first()
    assert f">{local_moment(offer.expires_at, 'Europe/London')}</time>" in text
    assert re.search(r"\d(:\d\d)?(am|pm) on \w+day \d+ \w+", text)
    assert f'action="/offers/{token}/accept"' in text and f'action="/offers/{token}/decline"' in text
    assert "Accept the places" in text and "Turn down the places" in text
    assert await offer_status(offer_id) == "open"  # looking changed nothing


async def test_accepting_books_the_places_and_shows_the_reference(client):
    token, offer_id, session_id = await an_offer()
    response = await post_button(client, token, "accept")
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/bookings/[A-Z0-9-]+/confirmation", location)

    page = await client.get(location)
    assert page.status_code == 200 and "Booking confirmed" in page.text
    reference = REFERENCE.search(page.text).group(1)
    booking = await Booking.objects().where(Booking.reference == reference).first()
    assert booking.session == session_id and booking.party_size == 2 and booking.source == "waitlist"
    assert await offer_status(offer_id) == "accepted"

    again = await client.get(f"/offers/{token}")
    assert "<h1>You have accepted this offer</h1>" in again.text
    assert "Accept the places" not in again.text

    form_token = await csrf_token(client, f"/sessions/{session_id}")  # the offer page has no form now
    second = await client.post(f"/offers/{token}/accept", data={"_csrf_token": form_token})
    assert second.status_code == 409
    assert "You have already accepted this offer." in second.text


async def test_turning_down_gives_the_places_back(client):
    token, offer_id, session_id = await an_offer()
    response = await post_button(client, token, "decline")
    assert response.status_code == 303
    assert response.headers["location"] == f"/offers/{token}"
    page = await client.get(response.headers["location"])
    assert "<h1>You&#39;ve turned down the places</h1>" in page.text
    assert "Turn down the places" not in page.text
    assert await offer_status(offer_id) == "declined"
    places = await Session.select(Session.booked, Session.held).where(Session.id == session_id).first()
    assert places == {"booked": 2, "held": 0}


async def test_a_run_out_offer_says_so_and_cannot_be_accepted(client):
    past = FixedClock(datetime.now(UTC) - timedelta(hours=13))
    token, _, _ = await an_offer(clock=past)
    page = await client.get(f"/offers/{token}")
    assert page.status_code == 200
    assert "<h1>This offer has run out</h1>" in page.text
    assert "Sorry, this offer has run out" in page.text and "Accept the places" not in page.text

    form_token = await csrf_token(client, f"/sessions/{(await make_waitlist_session()).id}")
    response = await client.post(f"/offers/{token}/accept", data={"_csrf_token": form_token})
    assert response.status_code == 409
    assert "Sorry, this offer has run out" in response.text


async def test_an_offer_on_a_cancelled_session_says_so(client):
    token, _, session_id = await an_offer()
    await Session.update({Session.status: SessionStatus.CANCELLED.value}).where(Session.id == session_id)
    page = await client.get(f"/offers/{token}")
    assert "<h1>This session has been cancelled</h1>" in page.text
    assert "Accept the places" not in page.text


async def test_unknown_or_forged_links_are_a_friendly_404(client):
    token, offer_id, _ = await an_offer()
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    form_token = await csrf_token(client, f"/offers/{token}")
    for bad in (forged, "12345", "not-a-token", f"{offer_id}.", "9" * 40 + ".abc"):
        page = await client.get(f"/offers/{bad}")
        assert page.status_code == 404 and "Page not found" in page.text, bad
        for action in ("accept", "decline"):
            response = await client.post(f"/offers/{bad}/{action}", data={"_csrf_token": form_token})
            assert response.status_code == 404, (bad, action)
    assert await offer_status(offer_id) == "open"


async def test_the_buttons_need_the_form_token(client):
    token, offer_id, _ = await an_offer()
    await client.get(f"/offers/{token}")
    assert (await client.post(f"/offers/{token}/accept")).status_code == 403
    assert await offer_status(offer_id) == "open"


async def test_accept_and_decline_through_the_api(client):
    token, _, session_id = await an_offer()
    accepted = await client.post(f"/api/v1/offers/{token}/accept")
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert body["status"] == "confirmed" and body["session_id"] == session_id and body["party_size"] == 2
    assert body["reference"] and body["manage_token"]

    again = await client.post(f"/api/v1/offers/{token}/accept")
    assert again.status_code == 409 and again.json()["reason"] == "offer_already_accepted"

    other_token, other_id, other_session = await an_offer(party_size=1)
    declined = await client.post(f"/api/v1/offers/{other_token}/decline")
    assert declined.status_code == 200
    assert declined.json() == {"session_id": other_session, "party_size": 1, "status": "declined"}
    assert await offer_status(other_id) == "declined"

    unknown = await client.post("/api/v1/offers/1.forged/accept")
    assert unknown.status_code == 404 and unknown.json()["reason"] == "offer_not_found"
