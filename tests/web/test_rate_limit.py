"""Booking attempts are rate-limited per client address; browsing is not."""

from __future__ import annotations

from booking.tables import Booking
from tests.builders import make_session
from tests.web.conftest import browser, submit_booking, web_settings


async def test_too_many_booking_attempts_get_a_429_and_book_nothing(db, data_dir):
    session = await make_session(capacity=50)
    async with browser(web_settings(db, data_dir, COMMONS_BOOKING_RATE_LIMIT="3")) as client:
        for n in range(3):
            response = await submit_booking(client, session.id, email=f"limit{n}.{session.id}@example.org")
            assert response.status_code == 303
        refused = await submit_booking(client, session.id, email=f"limit-x.{session.id}@example.org")
        assert refused.status_code == 429
        assert "Too many attempts" in refused.text
        api = await client.post(
            f"/api/v1/sessions/{session.id}/bookings",
            json={"name": "Api", "email": f"api.{session.id}@example.org", "party_size": 1},
        )
        assert api.status_code == 429 and "detail" in api.json()
        # Reading pages is never limited.
        for _ in range(5):
            assert (await client.get(f"/sessions/{session.id}")).status_code == 200
    assert await Booking.count().where(Booking.session == session.id) == 3
