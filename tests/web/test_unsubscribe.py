"""Stopping e-mails from the link in a message: by the page's button, or a mail provider's one-click POST."""

from __future__ import annotations

from booking.service import book_place
from booking.tables import Resident
from booking.validation import ResidentDetails
from commons.settings import DEV_SECRET_KEY
from notifications.unsubscribe import unsubscribe_token
from tests.builders import make_session, unique

ONE_CLICK = {"content": b"List-Unsubscribe=One-Click", "headers": {"content-type": "application/x-www-form-urlencoded"}}


async def a_resident() -> int:
    session = await make_session()
    details = ResidentDetails(name="Stop Mail", email=f"{unique('unsub')}@example.org")
    return (await book_place(session.id, details, 1)).resident_id


async def email_opted_out_at(resident_id: int):
    row = await Resident.select(Resident.email_opted_out_at).where(Resident.id == resident_id).first()
    return row["email_opted_out_at"]


async def test_opening_the_link_shows_a_button_and_changes_nothing(client):
    resident_id = await a_resident()
    url = f"/notifications/unsubscribe/{unsubscribe_token(DEV_SECRET_KEY, resident_id)}"
    page = await client.get(url)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<h1>Stop emails from Commons</h1>" in page.text
    assert f'<form method="post" action="{url}">' in page.text
    assert ">Stop emails</button>" in page.text
    assert "set-cookie" not in page.headers
    assert await email_opted_out_at(resident_id) is None


async def test_the_button_stops_emails(client):
    resident_id = await a_resident()
    url = f"/notifications/unsubscribe/{unsubscribe_token(DEV_SECRET_KEY, resident_id)}"
    await client.get(url)
    response = await client.post(url, data={})
    assert response.status_code == 200
    assert "<h1>You will not get any more emails from us</h1>" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert await email_opted_out_at(resident_id) is not None

    again = await client.post(url, data={})  # a second click, or a refresh, says the same
    assert again.status_code == 200 and "You will not get any more emails from us" in again.text


async def test_a_one_click_post_from_a_mail_provider_needs_no_cookie_or_form_token(client):
    resident_id = await a_resident()
    url = f"/notifications/unsubscribe/{unsubscribe_token(DEV_SECRET_KEY, resident_id)}"
    assert not client.cookies
    response = await client.post(url, **ONE_CLICK)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert await email_opted_out_at(resident_id) is not None


async def test_a_forged_or_malformed_token_is_a_404_and_stops_nothing(client):
    resident_id = await a_resident()
    token = unsubscribe_token(DEV_SECRET_KEY, resident_id)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other_key = unsubscribe_token("another-secret-key-entirely", resident_id)
    for bad in (forged, other_key, str(resident_id), "x" * 3000, "%00"):
        url = f"/notifications/unsubscribe/{bad}"
        assert (await client.get(url)).status_code == 404, bad
        assert (await client.post(url, **ONE_CLICK)).status_code == 404, bad
    assert await email_opted_out_at(resident_id) is None
