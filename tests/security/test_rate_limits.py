"""Every route that books, cancels, takes an offer or signs in shares one per-address limit, and answers 429 past it.

Already tested elsewhere, not repeated here: the count itself (3 bookings pass, the 4th is refused and books
nothing, pages are never limited) in tests/web/test_rate_limit.py; staff sign-in in
tests/web/staff/test_sign_in.py::test_too_many_sign_in_attempts_from_one_address_get_a_429; "Find my
bookings" links in tests/web/test_account.py::test_too_many_link_requests_from_one_address_get_a_429.
This file checks that each kind of route in web/security.py's BOOKING_ATTEMPT is really behind the limit.
"""

from __future__ import annotations

import pytest

from booking.tables import Booking, WaitlistOffer
from tests.builders import fill_session, make_session, make_waitlist_session
from tests.web.account_support import book, someone
from tests.web.conftest import browser, csrf_token, web_settings
from tests.web.test_offers import an_offer

pytestmark = pytest.mark.security


async def test_each_limited_route_answers_429_once_the_address_has_used_its_attempts(sqlite_db, data_dir):
    session = await make_session(capacity=10)
    full = await make_waitlist_session(capacity=1)
    await fill_session(full.id, 1)
    booking = await book(session.id, someone("limited"))
    offer, offer_id, _ = await an_offer()
    details = {"name": "Ada Lovelace", "email": "limited@example.org", "party_size": 1}
    async with browser(web_settings(sqlite_db, data_dir, COMMONS_BOOKING_RATE_LIMIT="1")) as client:
        form = await csrf_token(client, "/my-bookings")
        first = await client.post("/my-bookings", data={"contact": "limited@example.org", "_csrf_token": form})
        assert first.status_code != 429  # the one attempt this address has

        api = {"Authorization": f"Bearer {booking.manage_token}"}
        attempts = [
            ("POST", f"/sessions/{session.id}/book/confirm", {"data": {**details, "_csrf_token": form}}),
            ("POST", f"/sessions/{full.id}/waitlist", {"data": {**details, "_csrf_token": form}}),
            ("POST", f"/api/v1/sessions/{session.id}/bookings", {"json": details}),
            ("POST", f"/api/v1/sessions/{full.id}/waitlist", {"json": details}),
            ("DELETE", f"/api/v1/bookings/{booking.reference}", {"headers": api}),
            ("POST", f"/api/v1/offers/{offer}/accept", {}),
            ("POST", f"/api/v1/offers/{offer}/decline", {}),
            ("POST", f"/bookings/manage/{booking.manage_token}/cancel", {"data": {"reason": "", "_csrf_token": form}}),
            (
                "POST",
                f"/bookings/manage/{booking.manage_token}/party-size",
                {"data": {"party_size": "1", "_csrf_token": form}},
            ),
            ("POST", f"/offers/{offer}/accept", {"data": {"_csrf_token": form}}),
            ("POST", f"/offers/{offer}/decline", {"data": {"_csrf_token": form}}),
            ("POST", "/my-bookings", {"data": {"contact": "limited@example.org", "_csrf_token": form}}),
            (
                "POST",
                "/staff/sign-in",
                {"data": {"email": "x@staff.example.org", "password": "x", "_csrf_token": form}},
            ),
            ("POST", "/staff/password-reset", {"data": {"email": "x@staff.example.org", "_csrf_token": form}}),
        ]
        not_limited = []
        for method, path, request in attempts:
            response = await client.request(method, path, **request)
            if response.status_code != 429:
                not_limited.append(f"{method} {path}: {response.status_code}")
            elif path.startswith("/api/"):
                assert "detail" in response.json()
            else:
                assert "Too many attempts" in response.text
        assert (
            await client.get(f"/bookings/manage/{booking.manage_token}")
        ).status_code == 200  # reading is not limited
    assert not not_limited, "routes that are not behind the limit:\n" + "\n".join(not_limited)
    row = await Booking.select(Booking.status, Booking.party_size).where(Booking.id == booking.booking_id).first()
    assert row == {"status": "confirmed", "party_size": 1}
    assert (await WaitlistOffer.select(WaitlistOffer.status).where(WaitlistOffer.id == offer_id).first()) == {
        "status": "open"
    }
    assert await Booking.count().where(Booking.session == session.id) == 1
