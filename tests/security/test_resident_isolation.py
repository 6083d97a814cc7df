"""Resident A's links, tokens and signed-in browser never reach resident B's bookings, offers or data.

Every resident route with an id or a token in its path, what guards it, and where it is tested:

| Route | Guard | Tests |
|---|---|---|
| /bookings/manage/{token} (+ /calendar.ics, /cancel, /party-size) | random token, or REF.mac | here; tests/web/test_manage.py |
| DELETE /api/v1/bookings/{reference} | the manage token as a bearer token | here; tests/web/test_api.py |
| /bookings/{reference}/confirmation | this browser's session (its last 5 bookings) | here; test_booking_form.py, test_check_answers.py |
| /waitlist/{entry_id}/confirmation | this browser's session | tests/web/test_waitlist_form.py::test_joining_shows_your_number_only_to_this_browser |
| /calendar/{resident_id}.{version}.{mac}.ics | MAC over the id and version | here; tests/web/test_calendar.py |
| /my-bookings/sign-in/{link_id}.{mac} | MAC over the link's nonce, used once | here; tests/web/test_account.py |
| /notifications/unsubscribe/{resident_id}.{mac} | MAC over the id | here; tests/web/test_unsubscribe.py |
| /offers/{offer_id}.{mac} (+ /accept, /decline; the same under /api/v1) | MAC over the offer's token hash | here; tests/web/test_offers.py |
| /my-bookings, /my-data… (no id in the path) | the signed-in session | here; test_account.py, test_your_data.py |

Each signed token is ``{id}.{mac}``: the tests below keep A's MAC and put B's id in front, the one guess an
attacker holding their own link can make.
"""

from __future__ import annotations

import pytest

from booking.calendar import feed_token
from booking.manage_links import signed_manage_token
from booking.tables import Booking, Resident, WaitlistOffer
from commons.settings import DEV_SECRET_KEY
from notifications.unsubscribe import unsubscribe_token
from tests.builders import make_session
from tests.web.account_support import book, issue_link, sign_in_as, someone, use_link
from tests.web.conftest import csrf_token, submit_booking
from tests.web.test_offers import an_offer

pytestmark = pytest.mark.security

MANAGE_PAGES = ("", "/calendar.ics", "/cancel", "/party-size")
MANAGE_FORMS = ("/cancel", "/party-size")


def with_id(token: str, other_id: int | str) -> str:
    """A's token with B's id in front of A's MAC."""
    return f"{other_id}.{token.split('.', 1)[1]}"


async def booking_state(booking_id: int) -> dict:
    return await Booking.select(Booking.status, Booking.party_size).where(Booking.id == booking_id).first()


async def resident_state(resident_id: int) -> dict:
    return (
        await Resident.select(Resident.contact_by_email, Resident.erased_at).where(Resident.id == resident_id).first()
    )


@pytest.fixture
async def two_bookings(sqlite_db):
    """A's booking (one place) and B's (two places) on one session."""
    session = await make_session(capacity=10)
    ada, bob = someone("iso-ada"), someone("iso-bob")
    return await book(session.id, ada), await book(session.id, bob, 2), (ada, bob)


async def test_a_manage_link_opens_only_its_own_booking(client, two_bookings):
    mine, theirs, _ = two_bookings
    signed = signed_manage_token(DEV_SECRET_KEY, mine.reference, mine.manage_token_hash)
    assert (await client.get(f"/bookings/manage/{signed}")).status_code == 200  # A's own link works
    guesses = [
        theirs.reference,  # B's reference alone
        theirs.reference.lower(),
        with_id(signed, theirs.reference),  # B's reference with A's MAC
        f"{theirs.reference}.{mine.manage_token}",  # B's reference with A's random token
    ]
    form = await csrf_token(client, f"/bookings/manage/{signed}/cancel")
    for guess in guesses:
        for page in MANAGE_PAGES:
            response = await client.get(f"/bookings/manage/{guess}{page}")
            assert response.status_code == 404, (guess, page)
            assert theirs.reference not in response.text
        for action in MANAGE_FORMS:
            data = {"_csrf_token": form, "reason": "", "party_size": "1"}
            response = await client.post(f"/bookings/manage/{guess}{action}", data=data)
            assert response.status_code == 404, (guess, action)
    assert await booking_state(theirs.booking_id) == {"status": "confirmed", "party_size": 2}


async def test_the_api_cancels_only_with_that_bookings_own_token(client, two_bookings):
    mine, theirs, _ = two_bookings
    signed = signed_manage_token(DEV_SECRET_KEY, mine.reference, mine.manage_token_hash)
    for token in (mine.manage_token, signed, with_id(signed, theirs.reference)):
        response = await client.delete(
            f"/api/v1/bookings/{theirs.reference}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 404, token
    assert await booking_state(theirs.booking_id) == {"status": "confirmed", "party_size": 2}


async def test_a_browser_that_booked_sees_only_its_own_confirmations(client, other_client):
    session = await make_session(capacity=10)
    mine = await submit_booking(client, session.id, name="Ada Lovelace", email="iso-conf-ada@example.org")
    theirs = await submit_booking(other_client, session.id, name="Bob Dylan", email="iso-conf-bob@example.org")
    assert mine.status_code == theirs.status_code == 303
    assert (await client.get(mine.headers["location"])).status_code == 200  # A sees A's
    response = await client.get(theirs.headers["location"])
    assert response.status_code == 404 and "Bob Dylan" not in response.text


async def test_a_calendar_feed_link_shows_only_its_residents_bookings(client, two_bookings):
    mine, theirs, _ = two_bookings
    own = feed_token(DEV_SECRET_KEY, mine.resident_id, 1)
    assert (await client.get(f"/calendar/{own}.ics")).status_code == 200
    forged = f"{theirs.resident_id}.1.{own.split('.')[2]}"
    response = await client.get(f"/calendar/{forged}.ics")
    assert response.status_code == 404 and theirs.reference not in response.text


async def test_a_sign_in_link_signs_in_only_its_own_resident(client, other_client, two_bookings):
    mine, theirs, (ada, bob) = two_bookings
    own_link = await issue_link(ada.email, mine.resident_id)
    their_link = await issue_link(bob.email, theirs.resident_id)
    forged = with_id(own_link, their_link.split(".", 1)[0])
    assert (await client.get(f"/my-bookings/sign-in/{forged}")).status_code in (404, 410)
    form = await csrf_token(client, "/my-bookings")
    assert (await client.post(f"/my-bookings/sign-in/{forged}", data={"_csrf_token": form})).status_code in (404, 410)
    assert theirs.reference not in (await client.get("/my-bookings")).text
    # B's link was not used up by the attempt: B can still sign in with it.
    assert (await use_link(other_client, their_link)).status_code == 303
    assert theirs.reference in (await other_client.get("/my-bookings")).text


async def test_an_unsubscribe_link_stops_only_its_own_residents_emails(client, two_bookings):
    mine, theirs, _ = two_bookings
    own = unsubscribe_token(DEV_SECRET_KEY, mine.resident_id)
    assert (await client.get(f"/notifications/unsubscribe/{own}")).status_code == 200
    forged = with_id(own, theirs.resident_id)
    assert (await client.get(f"/notifications/unsubscribe/{forged}")).status_code == 404
    one_click = await client.post(f"/notifications/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 404
    assert (await resident_state(theirs.resident_id))["contact_by_email"] is True


async def test_an_offer_link_reaches_only_its_own_offer(client):
    own, _, _ = await an_offer()
    theirs, their_offer_id, _ = await an_offer()
    assert (await client.get(f"/offers/{own}")).status_code == 200
    forged = with_id(own, their_offer_id)
    form = await csrf_token(client, f"/offers/{own}")
    page = await client.get(f"/offers/{forged}")
    assert page.status_code == 404
    for action in ("accept", "decline"):
        assert (await client.post(f"/offers/{forged}/{action}", data={"_csrf_token": form})).status_code == 404
        assert (await client.post(f"/api/v1/offers/{forged}/{action}")).status_code == 404
    status = await WaitlistOffer.select(WaitlistOffer.status).where(WaitlistOffer.id == their_offer_id).first()
    assert status == {"status": "open"}


async def test_a_signed_in_residents_data_forms_change_only_their_own_data(client, two_bookings):
    mine, theirs, (ada, bob) = two_bookings
    await sign_in_as(client, ada.email, mine.resident_id)
    form = await csrf_token(client, "/my-data")
    someone_else = {"resident_id": str(theirs.resident_id), "email": bob.email, "reference": theirs.reference}
    # No box ticked: stop e-mails. Then delete, with B's id and address in the form.
    stopped = await client.post("/my-data/preferences", data={**someone_else, "_csrf_token": form})
    erased = await client.post("/my-data/delete", data={**someone_else, "confirm": "yes", "_csrf_token": form})
    assert stopped.status_code == erased.status_code == 303
    assert await resident_state(mine.resident_id) != {"contact_by_email": True, "erased_at": None}  # A's changed
    assert await resident_state(theirs.resident_id) == {"contact_by_email": True, "erased_at": None}
    assert await booking_state(theirs.booking_id) == {"status": "confirmed", "party_size": 2}
