"""Find my bookings: asking for a link, signing in with it, the bookings page, signing out.

Includes the authorisation checks the issue asks for: a link signs in only its own resident, once,
for 30 minutes; the request page answers the same for known and unknown addresses; the session id
changes at sign-in and dies at sign-out.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from booking.sign_in import Contact, request_sign_in_link
from booking.tables import Booking, Resident, SignInLink
from events.tables import OutboxEvent
from tests.builders import make_session
from tests.web.account_support import (
    SESSION_COOKIE,
    book,
    issue_link,
    latest_link_token,
    sign_in_as,
    someone,
    use_link,
)
from tests.web.conftest import csrf_token


async def ask_for_link(client, contact: str):
    token = await csrf_token(client, "/my-bookings")
    return await client.post("/my-bookings", data={"contact": contact, "_csrf_token": token})


async def test_the_request_form_validates_and_keeps_the_input(client):
    page = await client.get("/my-bookings")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Enter the email address or mobile number you booked with" in page.text

    empty = await ask_for_link(client, "")
    assert empty.status_code == 422
    assert "<title>Error: " in empty.text and 'href="#contact"' in empty.text
    invalid = await ask_for_link(client, "not an address")
    assert invalid.status_code == 422
    assert 'value="not an address"' in invalid.text and 'aria-invalid="true"' in invalid.text
    huge = await ask_for_link(client, "x" * 5000 + "@example.org")
    assert huge.status_code == 422


async def test_the_answer_is_the_same_for_known_and_unknown_addresses(client):
    session = await make_session()
    known = someone("known")
    await book(session.id, known)
    unknown = f"nobody-{known.email}"

    known_page = await ask_for_link(client, known.email)
    unknown_page = await ask_for_link(client, unknown)

    assert known_page.status_code == unknown_page.status_code == 200
    assert "Check your email" in known_page.text
    assert "If <strong>" in known_page.text and "The link works once, for 30 minutes." in known_page.text

    def masked(text: str, address: str) -> str:
        return re.sub(r'value="[0-9a-f]{40,}"', "", text.replace(address, "ADDRESS"))

    assert masked(known_page.text, known.email) == masked(unknown_page.text, unknown)


async def test_a_mobile_number_gets_check_your_phone(client):
    page = await ask_for_link(client, "07700 900 982")
    assert page.status_code == 200 and "Check your phone" in page.text


async def test_the_per_resident_limit_holds_and_the_page_does_not_change(client):
    session = await make_session()
    who = someone("limited")
    confirmation = await book(session.id, who)
    pages = [await ask_for_link(client, who.email) for _ in range(4)]
    assert {page.status_code for page in pages} == {200}
    assert await SignInLink.count().where(SignInLink.resident == confirmation.resident_id) == 3
    payloads = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "resident.sign_in_requested")
    sent = [p for p in payloads if json.loads(p["payload"])["data"]["resident_id"] == confirmation.resident_id]
    assert len(sent) == 3  # the fourth request recorded nothing, so nothing is sent


async def test_a_link_signs_in_only_its_resident_and_shows_their_bookings(client):
    session = await make_session(capacity=10)
    ada, bob = someone("ada"), someone("bob")
    mine = await book(session.id, ada, 2)
    theirs = await book((await make_session()).id, bob, 1)

    await sign_in_as(client, ada.email, mine.resident_id)
    page = await client.get("/my-bookings")

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'hx-history="false"' in page.text
    assert mine.reference in page.text and theirs.reference not in page.text
    assert f"/bookings/manage/{mine.reference}." in page.text  # the signed manage link
    assert "/calendar/" in page.text and "/my-data" in page.text and "Sign out" in page.text


async def test_opening_the_link_changes_nothing_and_it_works_once(client, other_client):
    session = await make_session()
    who = someone("once")
    confirmation = await book(session.id, who)
    token = await issue_link(who.email, confirmation.resident_id)

    for _ in range(2):
        assert (await client.get(f"/my-bookings/sign-in/{token}")).status_code == 200
    assert (await use_link(client, token)).status_code == 303

    reused = await other_client.get(f"/my-bookings/sign-in/{token}")
    assert reused.status_code == 410 and "already been used" in reused.text
    csrf = await csrf_token(other_client, "/my-bookings")
    again = await other_client.post(f"/my-bookings/sign-in/{token}", data={"_csrf_token": csrf})
    assert again.status_code == 410
    assert confirmation.reference not in (await other_client.get("/my-bookings")).text


async def test_an_expired_or_forged_link_fails(client):
    session = await make_session()
    who = someone("expired")
    confirmation = await book(session.id, who)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await request_sign_in_link(Contact(email=who.email), now=long_ago)
    token = await latest_link_token(confirmation.resident_id)

    page = await client.get(f"/my-bookings/sign-in/{token}")
    assert page.status_code == 410 and "run out" in page.text
    assert (await client.get(f"/my-bookings/sign-in/{token[:-3]}AAA")).status_code == 410
    assert (await client.get("/my-bookings/sign-in/999999999999.nonsense")).status_code == 410


async def test_the_session_id_changes_at_sign_in_and_dies_at_sign_out(client, other_client):
    session = await make_session()
    who = someone("rotate")
    confirmation = await book(session.id, who)
    token = await issue_link(who.email, confirmation.resident_id)
    before = "planted-before-sign-in-" + "0" * 40  # e.g. fixed by an attacker before the resident signs in
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, before, domain="testserver.local")
    csrf = await csrf_token(client, f"/my-bookings/sign-in/{token}")
    response = await client.post(f"/my-bookings/sign-in/{token}", data={"_csrf_token": csrf})
    assert response.status_code == 303
    after = response.cookies.get(SESSION_COOKIE)
    assert after and after != before

    # Another browser with the signed-in cookie is signed in: until sign-out deletes the session.
    other_client.cookies.set(SESSION_COOKIE, after, domain="testserver.local")
    assert confirmation.reference in (await other_client.get("/my-bookings")).text
    csrf = await csrf_token(client, "/my-bookings")
    out = await client.post("/my-bookings/sign-out", data={"_csrf_token": csrf})
    assert out.status_code == 303 and "signed-out" in out.headers["location"]
    assert "You have signed out" in (await client.get(out.headers["location"])).text
    other_client.cookies.set(SESSION_COOKIE, after, domain="testserver.local")
    assert confirmation.reference not in (await other_client.get("/my-bookings")).text


async def test_an_erased_resident_counts_as_signed_out(client):
    session = await make_session()
    who = someone("erased")
    confirmation = await book(session.id, who)
    await sign_in_as(client, who.email, confirmation.resident_id)
    await Resident.update({Resident.erased_at: datetime.now(UTC)}).where(Resident.id == confirmation.resident_id)

    page = await client.get("/my-bookings")
    assert confirmation.reference not in page.text and "Send me a link" in page.text


async def test_signed_in_resident_cannot_change_another_residents_booking(client):
    session = await make_session(capacity=10)
    ada, bob = someone("ada2"), someone("bob2")
    mine = await book(session.id, ada)
    theirs = await book(session.id, bob, 2)
    await sign_in_as(client, ada.email, mine.resident_id)
    csrf = await csrf_token(client, "/my-bookings")

    # Posting B's reference or ids anywhere a signed-in resident can post does nothing to B's booking.
    for path in (
        "/my-bookings",
        "/my-bookings/calendar/reset",
        f"/bookings/manage/{theirs.reference}/cancel",
        f"/bookings/manage/{theirs.reference}.{'A' * 32}/cancel",
        f"/bookings/manage/{theirs.booking_id}/party-size",
    ):
        await client.post(
            path,
            data={
                "_csrf_token": csrf,
                "reference": theirs.reference,
                "booking_id": str(theirs.booking_id),
                "party_size": "1",
                "contact": bob.email,
            },
        )
    row = await Booking.select(Booking.status, Booking.party_size).where(Booking.id == theirs.booking_id).first()
    assert row == {"status": "confirmed", "party_size": 2}


async def test_too_many_link_requests_from_one_address_get_a_429(db, data_dir):
    from tests.web.conftest import browser, web_settings

    async with browser(web_settings(db, data_dir, COMMONS_BOOKING_RATE_LIMIT="2")) as limited:
        statuses = [(await ask_for_link(limited, "someone@example.org")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
