"""The referrals JSON API: a partner's key makes referrals and reads only that partner's referrals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.partner_api_keys import create_api_key, revoke_api_key
from booking.referrals import create_referral
from booking.service import book_place, cancel_booking
from booking.states import ReferralMode
from booking.tables import PartnerApiKey, Referral, Session
from tests.builders import make_session, resident, unique
from tests.referral_support import make_link_worker, referral_request

URL = "/api/v1/referrals"


def body(session_id: int, **overrides) -> dict:
    return {
        "session_id": session_id,
        "name": "Mary Seacole",
        "email": f"{unique('mary')}@example.org",
        "consent_source": "phone",
        "share_outcome": True,
        "mode": "hold",
        "hold_days": 3,
        "note": "Prefers a seat near the door",
        **overrides,
    }


async def a_key(worker=None):
    worker = worker or await make_link_worker()
    made = await create_api_key(worker, "Case system", datetime.now(UTC))
    return worker, {"Authorization": f"Bearer {made.secret}"}, made


async def test_a_partner_holds_places_through_the_api(client):
    session = await make_session(capacity=5, starts_in=timedelta(days=10))
    worker, auth, _ = await a_key()

    response = await client.post(URL, json=body(session.id, party_size=2), headers=auth)

    assert response.status_code == 201, response.text
    made = response.json()
    assert made["mode"] == "hold" and made["outcome"] == "waiting" and made["party_size"] == 2
    assert made["session_id"] == session.id and made["resident_name"] == "Mary Seacole"
    places = await Session.select(Session.booked, Session.held).where(Session.id == session.id).first()
    assert places == {"booked": 0, "held": 2}
    row = await Referral.select(Referral.created_by, Referral.note_for_staff).where(Referral.id == made["id"]).first()
    assert row == {"created_by": worker.id, "note_for_staff": "Prefers a seat near the door"}


async def test_a_partner_books_through_the_api_and_sees_it_booked(client):
    session = await make_session(capacity=5, starts_in=timedelta(days=10))
    _, auth, _ = await a_key()

    response = await client.post(URL, json=body(session.id, mode="book", hold_days=None), headers=auth)

    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "booked"
    shown = await client.get(f"{URL}/{response.json()['id']}", headers=auth)
    assert shown.status_code == 200 and shown.json() == response.json()
    assert (await Session.select(Session.booked).where(Session.id == session.id).first())["booked"] == 1


async def test_bad_input_is_422_with_the_form_messages_per_field(client):
    session = await make_session(capacity=5)
    _, auth, _ = await a_key()

    response = await client.post(
        URL, json=body(session.id, email="not-an-address", consent_source="", hold_days=99), headers=auth
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["email"].startswith("Enter an email address in the correct format")
    assert errors["consent_source"] == "Say how the resident agreed to the referral: by phone or in person"
    assert errors["hold_days"] == "Enter how many days to hold the place, between 1 and 14"
    missing = await client.post(URL, json={}, headers=auth)
    assert missing.status_code == 422 and {"session_id", "name", "email", "mode"} <= set(missing.json()["errors"])
    assert not await Referral.exists().where(Referral.session == session.id)


async def test_a_full_session_is_409_with_a_reason(client):
    session = await make_session(capacity=1)
    await book_place(session.id, resident(unique("first")), 1)
    _, auth, _ = await a_key()

    response = await client.post(URL, json=body(session.id, mode="book"), headers=auth)

    assert response.status_code == 409 and response.json()["reason"] == "session_full"


async def test_a_partner_never_sees_another_partners_referrals_or_unreferred_bookings(client):
    session = await make_session(capacity=10, starts_in=timedelta(days=7))
    ours, our_auth, _ = await a_key()
    theirs, their_auth, _ = await a_key()
    now = datetime.now(UTC)
    mine = await create_referral(ours, referral_request(session.id, unique("ours")), now)
    other = await create_referral(theirs, referral_request(session.id, unique("theirs")), now)
    await book_place(session.id, resident(unique("walk-up")), 1)  # referred by nobody

    listed = await client.get(URL, headers=our_auth, params={"limit": 200})
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [mine.referral_id]  # not theirs, not the walk-up booking
    hidden = await client.get(f"{URL}/{other.referral_id}", headers=our_auth)
    missing = await client.get(f"{URL}/999999999", headers=our_auth)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()  # nothing says the referral exists
    assert [item["id"] for item in (await client.get(URL, headers=their_auth)).json()] == [other.referral_id]


async def test_the_list_is_paginated_with_bounded_limit_and_offset(client):
    session = await make_session(capacity=10, starts_in=timedelta(days=7))
    worker, auth, _ = await a_key()
    now = datetime.now(UTC)
    made = [
        await create_referral(worker, referral_request(session.id, unique(f"r{n}")), now + timedelta(seconds=n))
        for n in range(3)
    ]

    page = await client.get(URL, headers=auth, params={"limit": 2, "offset": 1})

    assert [item["id"] for item in page.json()] == [made[1].referral_id, made[0].referral_id]
    assert (await client.get(URL, headers=auth, params={"limit": 201})).status_code == 400
    assert (await client.get(URL, headers=auth, params={"offset": -1})).status_code == 400


async def test_missing_wrong_and_revoked_keys_are_401_with_a_challenge(client):
    session = await make_session(capacity=5)
    worker, auth, made = await a_key()
    assert (await client.get(URL, headers=auth)).status_code == 200

    await revoke_api_key(worker, made.id, datetime.now(UTC))

    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer cmk_1_wrong"}, auth):
        for response in (
            await client.get(URL, headers=headers),
            await client.post(URL, json=body(session.id), headers=headers),
        ):
            assert response.status_code == 401, (headers, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.headers["content-type"].startswith("application/json")
    assert not await Referral.exists().where(Referral.session == session.id)


async def test_the_stored_hash_is_not_the_secret(client):
    _, auth, made = await a_key()
    stored = await PartnerApiKey.select(PartnerApiKey.secret_hash).where(PartnerApiKey.id == made.id).first()
    secret = auth["Authorization"].removeprefix("Bearer ")
    assert stored["secret_hash"] not in secret and secret.split("_", 2)[2] != stored["secret_hash"]
    assert (
        await client.get(URL, headers={"Authorization": f"Bearer cmk_{made.id}_{stored['secret_hash']}"})
    ).status_code == 401


async def test_the_operations_are_in_the_schema_with_a_bearer_scheme(client):
    document = (await client.get("/schema/openapi.json")).json()
    scheme = document["components"]["securitySchemes"]["partnerApiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for method, path in (
        ("post", URL),
        ("get", URL),
        ("get", URL + "/{referral_id}"),
        ("post", URL + "/{referral_id}/cancel"),
    ):
        operation = document["paths"][path][method]
        assert operation["summary"] and operation["description"]
        assert operation["security"] == [{"partnerApiKey": []}]


async def status_of(referral_id: int) -> str:
    return (await Referral.select(Referral.status).where(Referral.id == referral_id).first())["status"]


async def test_a_partner_cancels_a_referral_through_the_api(client):
    session = await make_session(capacity=5, starts_in=timedelta(days=10))
    worker, auth, _ = await a_key()
    now = datetime.now(UTC)
    hold = await create_referral(worker, referral_request(session.id, unique("hold"), party_size=2), now)
    booked = await create_referral(worker, referral_request(session.id, unique("book"), mode=ReferralMode.BOOK), now)

    cancelled = await client.post(f"{URL}/{hold.referral_id}/cancel", json={"reason": "Moved away"}, headers=auth)
    no_body = await client.post(f"{URL}/{booked.referral_id}/cancel", headers=auth)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["outcome"] == "cancelled" and cancelled.json()["id"] == hold.referral_id
    assert cancelled.json() == (await client.get(f"{URL}/{hold.referral_id}", headers=auth)).json()
    assert no_body.status_code == 200 and no_body.json()["outcome"] == "cancelled"
    places = await Session.select(Session.booked, Session.held).where(Session.id == session.id).first()
    assert places == {"booked": 0, "held": 0}


async def test_cancelling_another_partners_referral_is_404_like_a_missing_one(client):
    session = await make_session(capacity=5, starts_in=timedelta(days=7))
    _, our_auth, _ = await a_key()
    theirs, _, _ = await a_key()
    other = await create_referral(theirs, referral_request(session.id, unique("theirs")), datetime.now(UTC))

    hidden = await client.post(f"{URL}/{other.referral_id}/cancel", json={}, headers=our_auth)
    missing = await client.post(f"{URL}/999999999/cancel", json={}, headers=our_auth)

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert await status_of(other.referral_id) == "created"
    assert (await client.post(f"{URL}/{other.referral_id}/cancel", json={})).status_code == 401


async def test_a_referral_that_cannot_be_cancelled_is_409_with_the_reason(client):
    session = await make_session(capacity=5, starts_in=timedelta(days=7))
    worker, auth, _ = await a_key()
    now = datetime.now(UTC)
    made = await create_referral(worker, referral_request(session.id, unique("r"), mode=ReferralMode.BOOK), now)
    await cancel_booking(made.booking.reference, authorised=True, now=now)

    response = await client.post(f"{URL}/{made.referral_id}/cancel", json={"reason": ""}, headers=auth)

    assert response.status_code == 409
    assert response.json()["reason"] == "referral_booking_cancelled"
    assert "already been cancelled" in response.json()["detail"]
    hold = await create_referral(worker, referral_request(session.id, unique("h")), now)
    first = await client.post(f"{URL}/{hold.referral_id}/cancel", json={}, headers=auth)
    again = await client.post(f"{URL}/{hold.referral_id}/cancel", json={}, headers=auth)
    assert first.status_code == 200
    assert again.status_code == 409 and again.json()["reason"] == "referral_already_cancelled"
