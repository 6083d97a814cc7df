"""Odd input from the outside world gets a 4xx answer, never a 500."""

from __future__ import annotations

import pytest

from tests.builders import make_session
from tests.web.conftest import csrf_token

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/sessions/{2**31}",
        f"/sessions/{HUGE}",
        "/sessions/-1",
        f"/api/v1/sessions/{2**31}",
        f"/dev/mailbox/{2**40}",
        "/bookings/manage/" + "x" * 5000,
        "/bookings/%00%ff/confirmation",
        f"/waitlist/{HUGE}/confirmation",
        f"/waitlist/{2**31}/confirmation",
        "/offers/" + "x" * 5000,
        f"/offers/{HUGE}{HUGE}.abc",
        "/offers/%00%ff.%00",
        "/notifications/unsubscribe/" + "x" * 5000,
        f"/notifications/unsubscribe/{HUGE}{HUGE}.abc",
        "/notifications/unsubscribe/%00%ff.%00",
        f"/offers/{2**31}.{'a' * 32}",  # a well-formed id just past PostgreSQL's integers
        f"/offers/99999999999.{'a' * 32}",
        f"/calendar/{2**31}.1.{'a' * 32}.ics",
        "/whats-on?page=-1&from=banana&day=funday&near=%00&within=%ff&time=noon&access=wings",
        "/activities/" + "x" * 500,
        "/venues/%00%ff",
    ],
)
async def test_odd_ids_are_not_found_or_bad_requests(client, path):
    response = await client.get(path)
    assert response.status_code in (200, 400, 404), response.text  # 200: a search showing what was wrong


@pytest.mark.parametrize("token", [f"{2**31}.{'a' * 32}", f"99999999999.{'a' * 32}", "%00.%ff"])
async def test_odd_sign_in_links_do_not_work_and_do_not_break(client, token):
    response = await client.get(f"/my-bookings/sign-in/{token}")
    assert response.status_code in (404, 410), response.text


async def test_huge_session_id_in_a_booking_is_a_client_error(client):
    response = await client.post(
        f"/api/v1/sessions/{2**31}/bookings", json={"name": "A", "email": "a@example.com", "party_size": 1}
    )
    assert 400 <= response.status_code < 500


async def test_odd_form_values_are_field_errors(client):
    session = await make_session()
    token = await csrf_token(client, f"/sessions/{session.id}")
    response = await client.post(
        f"/sessions/{session.id}/book",
        content=f"name=A&name=B&email=a%40example.com&party_size={HUGE}&_csrf_token={token}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= response.status_code < 500


async def test_api_list_rejects_out_of_range_paging(client):
    assert (await client.get("/api/v1/sessions", params={"limit": "0"})).status_code == 400
    assert (await client.get("/api/v1/sessions", params={"limit": "abc"})).status_code == 400


async def test_odd_posts_to_the_new_forms_are_client_errors(client):
    token = await csrf_token(client, f"/sessions/{(await make_session()).id}")
    for path in (f"/sessions/{HUGE}/waitlist", "/offers/1.x/accept", "/offers/%00/decline"):
        response = await client.post(path, data={"_csrf_token": token, "party_size": HUGE})
        assert 400 <= response.status_code < 500, path
    response = await client.post(
        "/webhooks/sms/twilio", content=b"\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= response.status_code < 500
    response = await client.post("/notifications/unsubscribe/1.x", content=b"\xff" * 100)
    assert response.status_code == 404
