"""GOV.UK Notify through notifications-python-client against a local server speaking Notify's API."""

from __future__ import annotations

import jwt
import pytest

from notifications.sms import NotifySms, PermanentSmsError, TransientSmsError
from tests.support.sms_fakes import NotifyFake

UK_MOBILE = "+447700900123"


def provider_for(fake: NotifyFake, **overrides) -> NotifySms:
    options = {"api_key": fake.api_key, "template_id": fake.template_id, "base_url": fake.base_url} | overrides
    return NotifySms(**options)


async def test_sends_the_body_through_the_template_with_our_reference(notify_fake):
    result = await provider_for(notify_fake).send(UK_MOBILE, "Your place is booked.", reference="evt-1:sms")

    [request] = notify_fake.requests
    assert request.path == "/v2/notifications/sms"
    assert request.json() == {
        "phone_number": UK_MOBILE,
        "template_id": notify_fake.template_id,
        "personalisation": {"body": "Your place is booked."},
        "reference": "evt-1:sms",
    }
    assert result.provider_message_id == notify_fake.replies[0].body["id"]


async def test_the_request_carries_a_jwt_the_fake_verified(notify_fake):
    await provider_for(notify_fake).send(UK_MOBILE, "Hello", reference="r")

    token = notify_fake.requests[0].headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, key=notify_fake.secret, algorithms=["HS256"])
    assert claims["iss"] == notify_fake.service_id
    assert notify_fake.accepted == 1


async def test_a_key_with_the_wrong_secret_is_refused_and_permanent(notify_fake):
    wrong_key = notify_fake.api_key[:-36] + "00000000-0000-4000-8000-000000000000"

    with pytest.raises(PermanentSmsError, match="403"):
        await provider_for(notify_fake, api_key=wrong_key).send(UK_MOBILE, "Hello", reference="r")
    assert notify_fake.accepted == 0


async def test_a_number_notify_cannot_text_is_permanent(notify_fake):
    with pytest.raises(PermanentSmsError, match="400.*Not a UK mobile number") as caught:
        await provider_for(notify_fake).send("+4420 7946 0000", "Hello", reference="r")
    assert not isinstance(caught.value, TransientSmsError)


async def test_the_rate_limit_is_transient(notify_fake):
    notify_fake.rate_limit = 1
    provider = provider_for(notify_fake)
    await provider.send(UK_MOBILE, "first", reference="r1")

    with pytest.raises(TransientSmsError, match="429.*Exceeded rate limit") as caught:
        await provider.send(UK_MOBILE, "second", reference="r2")
    assert caught.value.retry_after is None  # Notify sends no Retry-After
    assert len(notify_fake.requests) == 2


async def test_the_daily_limit_is_transient(notify_fake):
    notify_fake.daily_limit_reached = True

    with pytest.raises(TransientSmsError, match="429.*send limits"):
        await provider_for(notify_fake).send(UK_MOBILE, "Hello", reference="r")


async def test_a_server_error_is_transient(notify_fake):
    notify_fake.server_error = True

    with pytest.raises(TransientSmsError, match="500"):
        await provider_for(notify_fake).send(UK_MOBILE, "Hello", reference="r")


async def test_a_refused_connection_is_transient(refusing_url):
    fake_key = "k-" + "11111111-1111-4111-8111-111111111111" + "-" + "22222222-2222-4222-8222-222222222222"
    provider = NotifySms(fake_key, "33333333-3333-4333-8333-333333333333", base_url=refusing_url)

    with pytest.raises(TransientSmsError):
        await provider.send(UK_MOBILE, "Hello", reference="r")


async def test_a_timeout_is_transient(silent_url):
    fake_key = "k-" + "11111111-1111-4111-8111-111111111111" + "-" + "22222222-2222-4222-8222-222222222222"
    provider = NotifySms(fake_key, "33333333-3333-4333-8333-333333333333", base_url=silent_url, timeout=0.2)

    with pytest.raises(TransientSmsError):
        await provider.send(UK_MOBILE, "Hello", reference="r")
