"""A double click, an htmx retry, the back button or two requests at once never make a second booking."""

from __future__ import annotations

import asyncio
import json
import uuid

from booking.tables import Booking
from events.tables import OutboxEvent
from tests.builders import make_session, unique
from tests.web.conftest import check_answers, confirm_answers, confirm_form_fields, form_key


def an_email() -> str:
    return f"{unique('once')}@example.org"


async def confirmed_events_for(session_id: int) -> int:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "booking.confirmed")
    return sum(json.loads(r["payload"])["data"]["session_id"] == session_id for r in rows)


async def test_the_form_carries_a_fresh_random_key(client):
    session = await make_session()
    first = form_key((await client.get(f"/sessions/{session.id}")).text)
    second = form_key((await client.get(f"/sessions/{session.id}")).text)
    assert len(first) >= 32 and first != second


async def test_confirming_twice_makes_one_booking_and_shows_the_same_page(client):
    session = await make_session(capacity=5)
    checked = await check_answers(client, session.id, email=an_email(), party_size="2")
    first = await confirm_answers(client, session.id, checked.text)
    again = await confirm_answers(client, session.id, checked.text)  # the back button, then Confirm again
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    page_one = (await client.get(first.headers["location"])).text
    page_two = (await client.get(again.headers["location"])).text
    assert page_one == page_two
    assert await Booking.count().where(Booking.session == session.id) == 1
    assert await confirmed_events_for(session.id) == 1


async def test_concurrent_confirms_with_one_key_make_one_booking(client):
    session = await make_session(capacity=5)
    checked = await check_answers(client, session.id, email=an_email())
    responses = await asyncio.gather(*(confirm_answers(client, session.id, checked.text) for _ in range(5)))
    assert {r.status_code for r in responses} == {303}
    assert len({r.headers["location"] for r in responses}) == 1
    assert await Booking.count().where(Booking.session == session.id) == 1
    assert await confirmed_events_for(session.id) == 1


async def test_htmx_retry_gets_the_same_redirect(client):
    session = await make_session()
    checked = await check_answers(client, session.id, email=an_email())
    headers = {"HX-Request": "true", "x-csrftoken": confirm_form_fields(checked.text)["_csrf_token"]}
    first = await confirm_answers(client, session.id, checked.text, headers=headers)
    retry = await confirm_answers(client, session.id, checked.text, headers=headers)
    assert first.headers["hx-redirect"] == retry.headers["hx-redirect"]
    assert await Booking.count().where(Booking.session == session.id) == 1


async def test_a_key_from_another_sessions_form_is_refused_politely(client):
    session = await make_session()
    other = await make_session()
    checked = await check_answers(client, session.id, email=an_email())
    assert (await confirm_answers(client, session.id, checked.text)).status_code == 303
    response = await client.post(f"/sessions/{other.id}/book/confirm", data=confirm_form_fields(checked.text))
    assert response.status_code == 422
    assert "This booking form was already used for a different session." in response.text
    assert await Booking.count().where(Booking.session == other.id) == 0


async def test_the_api_honours_the_idempotency_key_header(client):
    session = await make_session(capacity=5)
    body = {"name": "Api Person", "email": an_email(), "party_size": 2}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(f"/api/v1/sessions/{session.id}/bookings", json=body, headers=headers)
    again = await client.post(f"/api/v1/sessions/{session.id}/bookings", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["reference"] == again.json()["reference"]
    assert await Booking.count().where(Booking.session == session.id) == 1
    # The repeat's token (the signed kind) works for cancelling too.
    reference, token = again.json()["reference"], again.json()["manage_token"]
    assert token.startswith(f"{reference}.")
    cancelled = await client.delete(f"/api/v1/bookings/{reference}", headers={"Authorization": f"Bearer {token}"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_the_api_documents_the_header_and_rejects_a_bad_one(client):
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/sessions/{session_id}/bookings"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and "no second booking" in header["description"]
    session = await make_session()
    bad = await client.post(
        f"/api/v1/sessions/{session.id}/bookings",
        json={"name": "A", "email": an_email(), "party_size": 1},
        headers={"Idempotency-Key": "short"},
    )
    assert bad.status_code == 400
    assert await Booking.count().where(Booking.session == session.id) == 0
