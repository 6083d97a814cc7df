"""The manage page opened from a booking's secret link."""

from __future__ import annotations

import re

from booking.tables import Booking, Session
from tests.builders import make_session
from tests.web.conftest import csrf_token, submit_booking

MANAGE_LINK = re.compile(r'href="(/bookings/manage/[^"]+)"')


async def test_cancel_from_the_manage_page(client):
    session = await make_session(capacity=4)
    location = (await submit_booking(client, session.id, email="cancel-me@example.com", party_size="2")).headers[
        "location"
    ]
    manage_url = MANAGE_LINK.search((await client.get(location)).text).group(1)

    page = await client.get(manage_url)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Confirmed" in page.text and "Cancel booking" in page.text

    token = await csrf_token(client, manage_url)
    response = await client.post(f"{manage_url}/cancel", data={"reason": "Feeling unwell", "_csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == manage_url

    page = await client.get(manage_url)
    assert "Cancelled" in page.text
    assert "Cancel booking" not in page.text
    booking = await Booking.objects().where(Booking.session == session.id).first()
    assert booking.status == "cancelled" and booking.cancel_reason == "Feeling unwell"
    assert (await Session.select(Session.booked).where(Session.id == session.id).first())["booked"] == 0


async def test_unknown_manage_token_is_a_friendly_404(client):
    response = await client.get("/bookings/manage/not-a-real-token")
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_the_signed_link_from_an_email_opens_and_cancels_the_booking(client):
    from booking.manage_links import signed_token_for_booking
    from commons.settings import DEV_SECRET_KEY

    session = await make_session(capacity=4)
    await submit_booking(client, session.id, email="signed-link@example.com", party_size="1")
    booking = await Booking.objects().where(Booking.session == session.id).first()
    manage_url = f"/bookings/manage/{await signed_token_for_booking(DEV_SECRET_KEY, booking.id)}"

    page = await client.get(manage_url)
    assert page.status_code == 200 and booking.reference in page.text
    token = await csrf_token(client, manage_url)
    response = await client.post(f"{manage_url}/cancel", data={"reason": "", "_csrf_token": token})
    assert response.status_code == 303
    assert (await Booking.select(Booking.status).where(Booking.id == booking.id).first())["status"] == "cancelled"


async def test_a_forged_or_revoked_signed_link_opens_nothing(client):
    from booking.manage_links import signed_token_for_booking
    from commons.settings import DEV_SECRET_KEY

    session = await make_session(capacity=4)
    await submit_booking(client, session.id, email="revoked-link@example.com", party_size="1")
    booking = await Booking.objects().where(Booking.session == session.id).first()
    signed = await signed_token_for_booking(DEV_SECRET_KEY, booking.id)
    forged = signed[:-4] + ("AAAA" if not signed.endswith("AAAA") else "BBBB")
    assert (await client.get(f"/bookings/manage/{forged}")).status_code == 404

    await Booking.update({Booking.manage_token_hash: ""}).where(Booking.id == booking.id)
    assert (await client.get(f"/bookings/manage/{signed}")).status_code == 404
