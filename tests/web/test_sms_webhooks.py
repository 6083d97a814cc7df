"""Replies to our texts: a signed Twilio webhook or a GOV.UK Notify callback saying STOP withdraws consent."""

from __future__ import annotations

import itertools
import random

import pytest

from booking.service import book_place
from booking.tables import Resident
from booking.validation import ResidentDetails
from notifications.sms.inbound import twilio_signature
from tests.builders import make_session, unique
from tests.web.conftest import browser, web_settings

BASE_URL = "https://commons.example"
TWILIO_URL = f"{BASE_URL}/webhooks/sms/twilio"
AUTH_TOKEN = "twilio-auth-token-for-tests"
TWILIO_SMS_URL = f"twilio://AC0123456789abcdef:{AUTH_TOKEN}@%2B447700900000"
NOTIFY_TOKEN = "notify-inbound-token-for-tests"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


_numbers = itertools.count(random.randrange(1000))


def a_mobile() -> str:
    """A number from Ofcom's drama range, a new one each time, so tests do not stop each other's residents."""
    return f"+447700900{next(_numbers) % 1000:03d}"


async def a_resident_who_wants_texts(phone: str) -> int:
    session = await make_session()
    details = ResidentDetails("Text Me", f"{unique('sms')}@example.org", phone, sms_opt_in=True)
    return (await book_place(session.id, details, 1)).resident_id


async def texts_allowed(resident_id: int) -> tuple[bool, bool]:
    """(contact_by_sms, opted out recorded)"""
    row = await Resident.select(Resident.contact_by_sms, Resident.sms_opted_out_at).where(
        Resident.id == resident_id
    ).first()
    return row["contact_by_sms"], row["sms_opted_out_at"] is not None


def twilio_form(phone: str, body: str) -> dict[str, str]:
    return {"From": phone, "To": "+447700900000", "Body": body, "MessageSid": f"SM{unique('sid')}", "NumSegments": "1"}


@pytest.fixture
async def twilio_client(db, data_dir):
    settings = web_settings(db, data_dir, COMMONS_SMS_URL=TWILIO_SMS_URL, COMMONS_BASE_URL=BASE_URL)
    async with browser(settings) as client:
        yield client


@pytest.fixture
async def notify_client(db, data_dir):
    async with browser(web_settings(db, data_dir, COMMONS_SMS_INBOUND_TOKEN=NOTIFY_TOKEN)) as client:
        yield client


async def test_a_signed_stop_from_twilio_stops_texts(twilio_client):
    phone = a_mobile()
    resident_id = await a_resident_who_wants_texts(phone)
    assert await texts_allowed(resident_id) == (True, False)
    form = twilio_form(phone, " Stop ")
    response = await twilio_client.post(
        "/webhooks/sms/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(TWILIO_URL, form, AUTH_TOKEN)}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == EMPTY_TWIML
    assert "set-cookie" not in response.headers
    assert await texts_allowed(resident_id) == (False, True)


async def test_a_bad_signature_is_403_and_changes_nothing(twilio_client):
    phone = a_mobile()
    resident_id = await a_resident_who_wants_texts(phone)
    form = twilio_form(phone, "STOP")
    signed_for_other_body = twilio_signature(TWILIO_URL, {**form, "Body": "hello"}, AUTH_TOKEN)
    for headers in ({"X-Twilio-Signature": signed_for_other_body}, {}, {"X-Twilio-Signature": "nonsense"}):
        response = await twilio_client.post("/webhooks/sms/twilio", data=form, headers=headers)
        assert response.status_code == 403
    wrong_url = twilio_signature("http://testserver.local/webhooks/sms/twilio", form, AUTH_TOKEN)
    response = await twilio_client.post("/webhooks/sms/twilio", data=form, headers={"X-Twilio-Signature": wrong_url})
    assert response.status_code == 403
    assert await texts_allowed(resident_id) == (True, False)


async def test_other_replies_are_acknowledged_and_ignored(twilio_client):
    phone = a_mobile()
    resident_id = await a_resident_who_wants_texts(phone)
    form = twilio_form(phone, "Please stop by the library later")
    response = await twilio_client.post(
        "/webhooks/sms/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(TWILIO_URL, form, AUTH_TOKEN)}
    )
    assert response.status_code == 200 and response.text == EMPTY_TWIML
    assert await texts_allowed(resident_id) == (True, False)


async def test_a_signed_request_missing_fields_is_a_400(twilio_client):
    form = {"Body": "STOP"}
    response = await twilio_client.post(
        "/webhooks/sms/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(TWILIO_URL, form, AUTH_TOKEN)}
    )
    assert response.status_code == 400


async def test_the_twilio_webhook_is_not_there_when_twilio_is_not_the_provider(client):
    form = twilio_form(a_mobile(), "STOP")
    response = await client.post("/webhooks/sms/twilio", data=form, headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 404


async def test_a_stop_from_notify_with_the_right_bearer_token_stops_texts(notify_client):
    phone = a_mobile()
    resident_id = await a_resident_who_wants_texts(phone)
    payload = {"id": unique("notify"), "source_number": phone.lstrip("+"), "destination_number": "07700900000",
               "message": "STOP", "date_received": "2026-11-23T12:00:00.000000Z", "service_id": "s"}
    response = await notify_client.post(
        "/webhooks/sms/notify", json=payload, headers={"Authorization": f"Bearer {NOTIFY_TOKEN}"}
    )
    assert response.status_code == 204
    assert await texts_allowed(resident_id) == (False, True)


async def test_notify_without_the_right_bearer_token_is_403(notify_client):
    phone = a_mobile()
    resident_id = await a_resident_who_wants_texts(phone)
    payload = {"id": unique("notify"), "source_number": phone, "message": "STOP"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": NOTIFY_TOKEN}):
        response = await notify_client.post("/webhooks/sms/notify", json=payload, headers=headers)
        assert response.status_code == 403, headers
    broken = await notify_client.post(
        "/webhooks/sms/notify", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 403  # the token is checked before the body
    assert await texts_allowed(resident_id) == (True, False)


async def test_notify_with_the_token_but_a_bad_body_is_400(notify_client):
    auth = {"Authorization": f"Bearer {NOTIFY_TOKEN}", "content-type": "application/json"}
    assert (await notify_client.post("/webhooks/sms/notify", content=b"{not json", headers=auth)).status_code == 400
    assert (await notify_client.post("/webhooks/sms/notify", content=b"[1]", headers=auth)).status_code == 400


async def test_notify_is_refused_when_no_inbound_token_is_configured(client):
    payload = {"id": "x", "source_number": a_mobile(), "message": "STOP"}
    response = await client.post("/webhooks/sms/notify", json=payload, headers={"Authorization": "Bearer "})
    assert response.status_code == 403


async def test_odd_bodies_are_refused_without_a_500(twilio_client):
    for content, content_type in (
        (b"\xff\xfe=\xff", "application/x-www-form-urlencoded"),
        (b'{"From": "+447700900001"}', "application/json"),
        (b"--x\r\nContent-Disposition: form-data; name=\"Body\"\r\n\r\nSTOP\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    ):
        response = await twilio_client.post(
            "/webhooks/sms/twilio", content=content, headers={"content-type": content_type, "X-Twilio-Signature": "x"}
        )
        assert response.status_code in (400, 403), content
