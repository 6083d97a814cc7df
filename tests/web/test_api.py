"""The JSON API under /api/v1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.states import ActivityCategory
from booking.tables import Booking, Session
from tests.builders import make_activity, make_room, make_session, make_venue


async def test_list_sessions_filters_by_venue_category_and_time(client):
    venue = await make_venue()
    room = await make_room(venue=venue)
    job_club = await make_activity(title="Job club", category=ActivityCategory.JOB_CLUB.value)
    soon = await make_session(room=room, activity=job_club, starts_in=timedelta(days=1))
    later = await make_session(room=room, activity=job_club, starts_in=timedelta(days=10))
    await make_session(room=room, starts_in=timedelta(days=1, hours=2))  # yoga, same venue (the room is free by then)
    await make_session(activity=job_club, starts_in=timedelta(days=1))  # another venue

    response = await client.get("/api/v1/sessions", params={"venue": venue.slug, "category": "job_club"})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [soon.id, later.id]

    cutoff = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    response = await client.get("/api/v1/sessions", params={"venue": venue.slug, "category": "job_club", "to": cutoff})
    body = response.json()
    assert [s["id"] for s in body] == [soon.id]
    first = body[0]
    assert first["activity"] == "Job club" and first["venue"] == venue.slug
    assert first["places_left"] == 10 and first["capacity"] == 10 and first["status"] == "scheduled"
    assert first["url"] == f"/sessions/{soon.id}"
    assert datetime.fromisoformat(first["starts_at"]).utcoffset() == timedelta(0)
    assert first["local_time"]


async def test_a_bad_datetime_filter_is_a_clear_400(client):
    response = await client.get("/api/v1/sessions", params={"from": "next tuesday"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert "from" in response.text


async def test_get_one_session_and_404_json(client):
    session = await make_session()
    assert (await client.get(f"/api/v1/sessions/{session.id}")).json()["id"] == session.id
    missing = await client.get("/api/v1/sessions/999999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")


async def test_booking_through_the_api(client):
    session = await make_session(capacity=5)
    body = {"name": "Api User", "email": "api@example.com", "phone": "07700 900 982", "party_size": 2}
    response = await client.post(f"/api/v1/sessions/{session.id}/bookings", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["status"] == "confirmed" and data["party_size"] == 2 and data["places_left"] == 3
    assert data["session_id"] == session.id and data["manage_token"]
    booking = await Booking.objects().where(Booking.reference == data["reference"]).first()
    assert booking.source == "api"


async def test_booking_a_full_session_is_409_with_a_reason(client):
    session = await make_session(capacity=1)
    await Session.update({Session.booked: 1}).where(Session.id == session.id)
    response = await client.post(
        f"/api/v1/sessions/{session.id}/bookings", json={"name": "A", "email": "full@example.com", "party_size": 1}
    )
    assert response.status_code == 409
    assert response.json() == {
        "reason": "session_full",
        "detail": "Sorry, there are not enough places left on this session.",
    }


async def test_bad_fields_are_422_with_a_message_per_field(client):
    session = await make_session(max_party_size=2)
    response = await client.post(
        f"/api/v1/sessions/{session.id}/bookings", json={"name": "", "email": "nope", "party_size": 3}
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"name", "email", "party_size"}
    assert errors["party_size"] == "You can book up to 2 places for this activity"
    assert await Booking.count().where(Booking.session == session.id) == 0


async def test_malformed_json_and_wrong_types_are_client_errors(client):
    session = await make_session()
    url = f"/api/v1/sessions/{session.id}/bookings"
    broken = await client.post(url, content=b'{"name": "A", ', headers={"content-type": "application/json"})
    assert 400 <= broken.status_code < 500
    wrong = await client.post(url, json={"name": "A", "email": "a@example.com", "party_size": "lots"})
    assert 400 <= wrong.status_code < 500
    not_object = await client.post(url, json=[1, 2, 3])
    assert 400 <= not_object.status_code < 500
    assert await Booking.count().where(Booking.session == session.id) == 0


async def test_booking_an_unknown_session_is_404(client):
    response = await client.post(
        "/api/v1/sessions/999999999/bookings", json={"name": "A", "email": "a@example.com", "party_size": 1}
    )
    assert response.status_code == 404
    assert response.json()["reason"] == "session_not_found"


async def test_cancel_with_the_manage_token(client):
    session = await make_session(capacity=3)
    booked = (
        await client.post(
            f"/api/v1/sessions/{session.id}/bookings", json={"name": "A", "email": "del@example.com", "party_size": 1}
        )
    ).json()
    url = f"/api/v1/bookings/{booked['reference']}"

    missing_header = await client.delete(url)
    assert missing_header.status_code == 401
    assert missing_header.headers["www-authenticate"] == "Bearer"

    wrong = await client.delete(url, headers={"Authorization": "Bearer wrong-token"})
    unknown = await client.delete("/api/v1/bookings/ZZZ-ZZZ", headers={"Authorization": "Bearer wrong-token"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()

    right = await client.delete(url, headers={"Authorization": f"Bearer {booked['manage_token']}"})
    assert right.status_code == 200
    assert right.json()["status"] == "cancelled" and right.json()["places_left"] == 3

    again = await client.delete(url, headers={"Authorization": f"Bearer {booked['manage_token']}"})
    assert again.status_code == 409
    assert again.json()["reason"] == "already_cancelled"


async def test_api_needs_no_csrf_token_and_sets_no_cookies(client):
    session = await make_session()
    response = await client.post(
        f"/api/v1/sessions/{session.id}/bookings", json={"name": "A", "email": "nocsrf@example.com", "party_size": 1}
    )
    assert response.status_code == 201
    assert "set-cookie" not in response.headers


async def test_openapi_schema_lists_the_api(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/bookings",
        "/api/v1/sessions/{session_id}/waitlist",
        "/api/v1/bookings/{reference}",
        "/api/v1/offers/{token}/accept",
        "/api/v1/offers/{token}/decline",
        "/api/v1/referrals",
        "/api/v1/referrals/{referral_id}",
        "/api/v1/referrals/{referral_id}/cancel",
    }
    schemas = response.json()["components"]["schemas"]
    for name in ("BookingIn", "SessionOut", "ValidationProblem", "WaitlistIn", "WaitlistOut", "OfferDeclinedOut"):
        assert name in schemas, name
    waitlist = paths["/api/v1/sessions/{session_id}/waitlist"]["post"]
    assert set(waitlist["responses"]) == {"201", "400", "404", "409", "422"}
    accept = paths["/api/v1/offers/{token}/accept"]["post"]
    assert {"201", "404", "409"} <= set(accept["responses"])


async def test_the_api_follows_the_booking_rules(client):
    late = await make_session(activity=await make_activity(booking_closes_hours=3), starts_in=timedelta(hours=2))
    body = {"name": "Api Late", "email": "api-late@example.org", "party_size": 1}
    response = await client.post(f"/api/v1/sessions/{late.id}/bookings", json=body)
    assert response.status_code == 409
    assert response.json()["reason"] == "booking_closed"
    assert response.json()["detail"].startswith("Booking for this session closed at ")
    early = await make_session(activity=await make_activity(booking_opens_days=1), starts_in=timedelta(days=3))
    response = await client.post(f"/api/v1/sessions/{early.id}/bookings", json=body)
    assert response.status_code == 409 and response.json()["reason"] == "booking_not_open_yet"
    waiting = await client.post(f"/api/v1/sessions/{early.id}/waitlist", json=body)
    assert waiting.status_code == 409 and waiting.json()["reason"] == "booking_not_open_yet"
    assert await Booking.count().where(Booking.session.is_in([late.id, early.id])) == 0


async def test_the_api_books_with_only_a_mobile_number_and_a_support_note(client):
    from booking.tables import Resident

    session = await make_session()
    body = {"name": "Api Phone", "phone": "07700 900 321", "sms_opt_in": True, "party_size": 1, "support_note": "BSL"}
    response = await client.post(f"/api/v1/sessions/{session.id}/bookings", json=body)
    assert response.status_code == 201, response.text
    booking = await Booking.objects().where(Booking.reference == response.json()["reference"]).first()
    assert booking.support_note == "BSL"
    who = await Resident.objects().where(Resident.id == booking.resident).first()
    assert who.email is None and who.phone == "+447700900321"
    neither = await client.post(f"/api/v1/sessions/{session.id}/bookings", json={"name": "X", "party_size": 1})
    assert neither.status_code == 422
    assert neither.json()["errors"] == {
        "email": "Enter an email address or a mobile number, so we can send your booking details"
    }
