"""Joining a waiting list through the JSON API."""

from __future__ import annotations

from booking.states import SessionStatus
from booking.tables import Resident, WaitlistEntry
from tests.builders import fill_session, make_session, unique


def details(**overrides) -> dict:
    return {"name": "Api Waiter", "email": f"{unique('api-wait')}@example.org", "party_size": 1, **overrides}


async def test_join_a_full_session_and_get_your_position(client):
    session = await make_session(capacity=2)
    await fill_session(session.id, 2)
    url = f"/api/v1/sessions/{session.id}/waitlist"
    first = await client.post(url, json=details(party_size=2))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["position"] == 1 and body["party_size"] == 2 and body["session_id"] == session.id
    assert body["status"] == "waiting" and body["waitlist_entry_id"]
    assert "set-cookie" not in first.headers

    second = await client.post(url, json=details(phone="07700 900 321", sms_opt_in=True))
    assert second.status_code == 201 and second.json()["position"] == 2
    entry = await WaitlistEntry.objects().where(WaitlistEntry.id == second.json()["waitlist_entry_id"]).first()
    resident = await Resident.objects().where(Resident.id == entry.resident).first()
    assert resident.contact_by_sms and resident.phone == "+447700900321"


async def test_conflicts_are_409_with_a_reason(client):
    open_session = await make_session(capacity=5)
    response = await client.post(f"/api/v1/sessions/{open_session.id}/waitlist", json=details())
    assert response.status_code == 409 and response.json()["reason"] == "places_available"

    full = await make_session(capacity=1)
    await fill_session(full.id, 1)
    url = f"/api/v1/sessions/{full.id}/waitlist"
    body = details()
    assert (await client.post(url, json=body)).status_code == 201
    again = await client.post(url, json=body)
    assert again.status_code == 409 and again.json()["reason"] == "already_on_waitlist"

    cancelled = await make_session(status=SessionStatus.CANCELLED)
    response = await client.post(f"/api/v1/sessions/{cancelled.id}/waitlist", json=details())
    assert response.status_code == 409 and response.json()["reason"] == "session_cancelled"


async def test_bad_fields_are_422_and_unknown_sessions_404(client):
    full = await make_session(capacity=1, max_party_size=2)
    await fill_session(full.id, 1)
    response = await client.post(
        f"/api/v1/sessions/{full.id}/waitlist", json={"name": "", "email": "x", "party_size": 3, "sms_opt_in": True}
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"name", "email", "phone", "party_size"}
    assert await WaitlistEntry.count().where(WaitlistEntry.session == full.id) == 0

    missing = await client.post("/api/v1/sessions/999999999/waitlist", json=details())
    assert missing.status_code == 404 and missing.json()["reason"] == "session_not_found"
    wrong = await client.post(f"/api/v1/sessions/{full.id}/waitlist", json={**details(), "party_size": "two"})
    assert wrong.status_code == 400
