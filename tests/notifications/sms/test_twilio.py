"""Twilio's Messages API over httpx against a local server speaking Twilio's API."""

from __future__ import annotations

import base64

import pytest

from notifications.sms import PermanentSmsError, TransientSmsError, TwilioSms
from tests.support.sms_fakes import TwilioFake

TO = "+447700900123"
FROM = "+447700900999"


def provider_for(fake: TwilioFake, **overrides) -> TwilioSms:
    options = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "from_number": FROM,
        "base_url": fake.base_url,
    } | overrides
    return TwilioSms(**options)


async def test_posts_the_form_twilio_expects_and_returns_the_message_sid(twilio_fake):
    result = await provider_for(twilio_fake).send(TO, "Your place is booked. Reply STOP to stop texts.", reference="r")

    [request] = twilio_fake.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_fake.account_sid}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": TO, "From": FROM, "Body": "Your place is booked. Reply STOP to stop texts."}
    assert result.provider_message_id == twilio_fake.replies[0].body["sid"]
    assert result.provider_message_id.startswith("SM")


async def test_authenticates_with_basic_auth_sid_and_token(twilio_fake):
    await provider_for(twilio_fake).send(TO, "Hello", reference="r")

    scheme, _, encoded = twilio_fake.requests[0].headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{twilio_fake.account_sid}:{twilio_fake.auth_token}"


async def test_a_wrong_auth_token_is_refused_and_permanent(twilio_fake):
    with pytest.raises(PermanentSmsError, match="401 code 20003"):
        await provider_for(twilio_fake, auth_token="not-the-token").send(TO, "Hello", reference="r")
    assert twilio_fake.accepted == 0


async def test_an_invalid_number_is_permanent(twilio_fake):
    with pytest.raises(PermanentSmsError, match="400 code 21211") as caught:
        await provider_for(twilio_fake).send("07700 900123", "Hello", reference="r")
    assert not isinstance(caught.value, TransientSmsError)


async def test_too_many_requests_is_transient_with_retry_after(twilio_fake):
    twilio_fake.rate_limit = 1
    twilio_fake.retry_after = 7
    provider = provider_for(twilio_fake)
    await provider.send(TO, "first", reference="r1")

    with pytest.raises(TransientSmsError, match="429 code 20429") as caught:
        await provider.send(TO, "second", reference="r2")
    assert caught.value.retry_after == 7.0
    assert twilio_fake.replies[1].headers == {"Retry-After": "7"}


async def test_a_server_error_is_transient(twilio_fake):
    twilio_fake.server_error = True

    with pytest.raises(TransientSmsError, match="500") as caught:
        await provider_for(twilio_fake).send(TO, "Hello", reference="r")
    assert caught.value.retry_after is None


async def test_a_refused_connection_is_transient(refusing_url):
    provider = TwilioSms("AC1", "token", FROM, base_url=refusing_url)

    with pytest.raises(TransientSmsError, match="ConnectError"):
        await provider.send(TO, "Hello", reference="r")


async def test_a_timeout_is_transient(silent_url):
    provider = TwilioSms("AC1", "token", FROM, base_url=silent_url, timeout=0.2)

    with pytest.raises(TransientSmsError, match="ReadTimeout"):
        await provider.send(TO, "Hello", reference="r")
