"""``COMMONS_SMS_URL``-style settings build the right backend, or fail at start-up."""

from __future__ import annotations

import pytest

from notifications.sms import DevOutboxSms, NotifySms, TwilioSms, provider_from_url
from notifications.sms.notify import NOTIFY_BASE_URL
from notifications.sms.twilio import TWILIO_BASE_URL

API_KEY = "commons_live-11111111-1111-4111-8111-111111111111-22222222-2222-4222-8222-222222222222"
TEMPLATE = "33333333-3333-4333-8333-333333333333"


def test_notify_with_its_template():
    provider = provider_from_url(f"notify://{API_KEY}?template_id={TEMPLATE}")

    assert isinstance(provider, NotifySms)
    assert (provider.api_key, provider.template_id, provider.base_url) == (API_KEY, TEMPLATE, NOTIFY_BASE_URL)
    assert provider.transactional is False


def test_notify_with_another_api_host():
    provider = provider_from_url(f"notify://{API_KEY}?template_id={TEMPLATE}&base_url=http://127.0.0.1:8123")

    assert provider.base_url == "http://127.0.0.1:8123"


def test_notify_without_a_template_fails_loudly():
    with pytest.raises(ValueError, match="template_id"):
        provider_from_url(f"notify://{API_KEY}")


def test_notify_with_a_truncated_key_fails_loudly():
    with pytest.raises(ValueError, match="API key"):
        provider_from_url(f"notify://not-a-key?template_id={TEMPLATE}")


@pytest.mark.parametrize("sender", ["%2B447700900999", "+447700900999"])
def test_twilio_with_an_e164_sender(sender):
    provider = provider_from_url(f"twilio://ACabc123:s3cr%40t@{sender}")

    assert isinstance(provider, TwilioSms)
    assert (provider.account_sid, provider.auth_token, provider.from_number) == ("ACabc123", "s3cr@t", "+447700900999")
    assert provider.base_url == TWILIO_BASE_URL


def test_twilio_keeps_the_case_of_a_messaging_service_sid():
    provider = provider_from_url("twilio://ACabc:token@MGAbCdEf?base_url=http://127.0.0.1:9000/")

    assert provider.from_number == "MGAbCdEf"
    assert provider.messages_url == "http://127.0.0.1:9000/2010-04-01/Accounts/ACabc/Messages.json"


@pytest.mark.parametrize("url", ["twilio://ACabc@+447700900999", "twilio://ACabc:token@", "twilio://+447700900999"])
def test_twilio_without_credentials_or_sender_fails_loudly(url):
    with pytest.raises(ValueError, match="twilio://"):
        provider_from_url(url)


def test_dev():
    assert isinstance(provider_from_url("dev://"), DevOutboxSms)


def test_an_unknown_scheme_fails_loudly():
    with pytest.raises(ValueError, match="unknown SMS provider"):
        provider_from_url("smtp://localhost")
