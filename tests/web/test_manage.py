"""The manage page opened from a booking's secret link: view, cancel (with a confirmation step), fewer places."""

from __future__ import annotations

from datetime import timedelta

from booking.manage_links import signed_token_for_booking
from booking.tables import Booking, Session
from commons.settings import DEV_SECRET_KEY
from tests.builders import make_session
from tests.web.account_support import book, someone
from tests.web.conftest import csrf_token

HTMX = {"HX-Request": "true"}


async def booked(party_size: int = 1, **session_options):
    session = await make_session(capacity=10, **session_options)
    confirmation = await book(session.id, someone("manage"), party_size)
    return session, confirmation, f"/bookings/manage/{confirmation.manage_token}"


async def booking_row(booking_id: int) -> dict:
    return (
        await Booking.select(Booking.status, Booking.party_size, Booking.cancel_reason)
        .where(Booking.id == booking_id)
        .first()
    )


async def test_cancel_through_the_confirmation_page(client):
    session, confirmation, manage_url = await booked(2)
    page = await client.get(manage_url)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'hx-history="false"' in page.text and "Confirmed" in page.text and "Cancel this booking" in page.text

    confirm = await client.get(f"{manage_url}/cancel")
    assert confirm.status_code == 200 and "Yes, cancel it" in confirm.text
    token = await csrf_token(client, f"{manage_url}/cancel")
    response = await client.post(f"{manage_url}/cancel", data={"reason": "Feeling unwell", "_csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == f"{manage_url}?notice=cancelled"

    page = await client.get(response.headers["location"])
    assert "Your booking has been cancelled" in page.text and "data-focus-after-swap" in page.text
    assert "Cancel this booking" not in page.text
    assert await booking_row(confirmation.booking_id) == {
        "status": "cancelled",
        "party_size": 2,
        "cancel_reason": "Feeling unwell",
    }
    assert (await Session.select(Session.booked).where(Session.id == session.id).first())["booked"] == 0

    again = await client.post(f"{manage_url}/cancel", data={"reason": "", "_csrf_token": token})
    assert again.status_code == 303  # a second click changes nothing and says it is cancelled


async def test_a_reason_over_500_characters_is_an_error_in_the_form(client):
    _, confirmation, manage_url = await booked()
    token = await csrf_token(client, f"{manage_url}/cancel")
    response = await client.post(f"{manage_url}/cancel", data={"reason": "x" * 501, "_csrf_token": token})
    assert response.status_code == 422
    assert "<title>Error: " in response.text and 'href="#reason"' in response.text
    assert "Reason must be 500 characters or fewer" in response.text and "x" * 501 in response.text
    assert (await booking_row(confirmation.booking_id))["status"] == "confirmed"


async def test_htmx_cancel_swaps_in_the_cancelled_page(client):
    _, confirmation, manage_url = await booked()
    token = await csrf_token(client, f"{manage_url}/cancel")
    response = await client.post(
        f"{manage_url}/cancel", data={"reason": "", "_csrf_token": token}, headers=HTMX, follow_redirects=True
    )
    assert response.status_code == 200 and 'id="main-content"' in response.text
    assert "Your booking has been cancelled" in response.text


async def test_reduce_the_number_of_places(client):
    session, confirmation, manage_url = await booked(3)
    form = await client.get(f"{manage_url}/party-size")
    assert form.status_code == 200 and "How many places do you need now?" in form.text
    token = await csrf_token(client, f"{manage_url}/party-size")

    for value, message in [
        ("", "Enter how many places you need"),
        ("two", "Number of places must be a whole number, like 2"),
        ("3", "This booking is for 3 places. You can reduce it to between 1 and 2 places."),
        ("0", "This booking is for 3 places. You can reduce it to between 1 and 2 places."),
    ]:
        response = await client.post(f"{manage_url}/party-size", data={"party_size": value, "_csrf_token": token})
        assert response.status_code == 422 and message in response.text, value
        assert "<title>Error: " in response.text and 'href="#party_size"' in response.text

    response = await client.post(f"{manage_url}/party-size", data={"party_size": "1", "_csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == f"{manage_url}?notice=reduced"
    assert (await booking_row(confirmation.booking_id))["party_size"] == 1
    assert (await Session.select(Session.booked).where(Session.id == session.id).first())["booked"] == 1
    page = await client.get(f"{manage_url}?notice=reduced")
    assert "The number of places has been changed" in page.text
    assert "Change the number of places" not in page.text  # one place left: nothing to reduce


async def test_a_started_session_cannot_be_cancelled_or_changed_and_says_why(client):
    _, confirmation, manage_url = await booked(2)
    await Session.update({Session.starts_at: Session.starts_at - timedelta(days=2, minutes=30)}).where(
        Session.id == confirmation.session_id
    )
    page = await client.get(manage_url)
    assert "already started" in page.text and "Cancel this booking" not in page.text
    token = await csrf_token(client, "/my-bookings")
    cancel = await client.post(f"{manage_url}/cancel", data={"reason": "", "_csrf_token": token})
    reduce = await client.post(f"{manage_url}/party-size", data={"party_size": "1", "_csrf_token": token})
    assert cancel.status_code == reduce.status_code == 409
    assert await booking_row(confirmation.booking_id) == {"status": "confirmed", "party_size": 2, "cancel_reason": ""}


async def test_unknown_manage_token_is_a_friendly_404(client):
    for path in ("", "/cancel", "/party-size", "/calendar.ics"):
        response = await client.get(f"/bookings/manage/not-a-real-token{path}")
        assert response.status_code == 404 and "Page not found" in response.text


async def test_the_signed_link_from_an_email_opens_and_cancels_the_booking(client):
    _, confirmation, _ = await booked()
    manage_url = f"/bookings/manage/{await signed_token_for_booking(DEV_SECRET_KEY, confirmation.booking_id)}"
    page = await client.get(manage_url)
    assert page.status_code == 200 and confirmation.reference in page.text
    token = await csrf_token(client, f"{manage_url}/cancel")
    response = await client.post(f"{manage_url}/cancel", data={"reason": "", "_csrf_token": token})
    assert response.status_code == 303
    assert (await booking_row(confirmation.booking_id))["status"] == "cancelled"


async def test_a_forged_or_revoked_signed_link_opens_nothing(client):
    _, confirmation, _ = await booked()
    signed = await signed_token_for_booking(DEV_SECRET_KEY, confirmation.booking_id)
    forged = signed[:-4] + ("AAAA" if not signed.endswith("AAAA") else "BBBB")
    token = await csrf_token(client, "/my-bookings")
    assert (await client.get(f"/bookings/manage/{forged}")).status_code == 404
    assert (await client.post(f"/bookings/manage/{forged}/cancel", data={"_csrf_token": token})).status_code == 404

    await Booking.update({Booking.manage_token_hash: ""}).where(Booking.id == confirmation.booking_id)
    assert (await client.get(f"/bookings/manage/{signed}")).status_code == 404
    assert (await booking_row(confirmation.booking_id))["status"] == "confirmed"


async def test_one_bookings_link_never_changes_another_booking(client):
    session = await make_session(capacity=10)
    mine = await book(session.id, someone("mine"), 2)
    theirs = await book(session.id, someone("theirs"), 2)
    manage_url = f"/bookings/manage/{mine.manage_token}"
    token = await csrf_token(client, f"{manage_url}/cancel")
    await client.post(f"{manage_url}/cancel", data={"reason": "", "reference": theirs.reference, "_csrf_token": token})
    assert (await booking_row(theirs.booking_id))["status"] == "confirmed"
    assert (await booking_row(mine.booking_id))["status"] == "cancelled"
