"""Inbound texts: STOP words, Twilio's signature (its documented test vector), Notify's bearer token."""

from __future__ import annotations

import pytest

from notifications.sms.inbound import (
    InvalidSignature,
    MalformedInbound,
    is_stop_request,
    parse_notify_inbound,
    parse_twilio_inbound,
    twilio_signature,
)

# Twilio's published example (twilio-python's RequestValidator tests): token, URL, params and signature.
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

WEBHOOK_URL = "https://commons.example/webhooks/sms/twilio"
TOKEN = "twilio-auth-token"
INBOUND = {"From": "+447700900123", "To": "+447700900999", "Body": " Stop ", "MessageSid": "SM123", "NumMedia": "0"}


@pytest.mark.parametrize(
    "body", ["STOP", "stop", " Stop\n", "STOPALL", "unsubscribe", "Cancel", "END", "quit", "\tQUIT  "]
)
def test_stop_words(body):
    assert is_stop_request(body)


@pytest.mark.parametrize("body", ["", "stop please", "don't stop", "STOP!", "yes", "S T O P", "ending"])
def test_not_stop_words(body):
    assert not is_stop_request(body)


def test_twilio_signature_matches_the_published_vector():
    assert twilio_signature(VECTOR_URL, VECTOR_PARAMS, VECTOR_TOKEN) == VECTOR_SIGNATURE


def test_twilio_signature_sorts_repeated_values():
    assert twilio_signature("https://x.test/", {"b": ["2", "1"], "a": "0"}, "t") == twilio_signature(
        "https://x.test/", {"a": "0", "b": ["1", "2"]}, "t"
    )


def test_a_signed_twilio_stop_is_parsed():
    signature = twilio_signature(WEBHOOK_URL, INBOUND, TOKEN)

    inbound = parse_twilio_inbound(WEBHOOK_URL, INBOUND, signature, TOKEN)

    assert (inbound.from_number, inbound.body, inbound.provider_message_id) == ("+447700900123", " Stop ", "SM123")
    assert inbound.is_stop


def test_form_data_as_lists_is_accepted():
    params = {key: [value] for key, value in INBOUND.items()}
    signature = twilio_signature(WEBHOOK_URL, INBOUND, TOKEN)

    assert parse_twilio_inbound(WEBHOOK_URL, params, signature, TOKEN).from_number == "+447700900123"


@pytest.mark.parametrize(
    ("url", "params", "token"),
    [
        (WEBHOOK_URL + "?x=1", INBOUND, TOKEN),  # another URL
        (WEBHOOK_URL, INBOUND | {"Body": "Hello"}, TOKEN),  # a changed body
        (WEBHOOK_URL, INBOUND, "another-token"),  # another account
    ],
)
def test_a_twilio_webhook_signed_for_something_else_is_rejected(url, params, token):
    signature = twilio_signature(WEBHOOK_URL, INBOUND, TOKEN)

    with pytest.raises(InvalidSignature):
        parse_twilio_inbound(url, params, signature, token)


@pytest.mark.parametrize("signature", [None, "", "not-base64"])
def test_a_missing_or_junk_twilio_signature_is_rejected(signature):
    with pytest.raises(InvalidSignature):
        parse_twilio_inbound(WEBHOOK_URL, INBOUND, signature, TOKEN)


def test_a_signed_twilio_webhook_without_a_sender_is_malformed():
    params = {"Body": "STOP", "MessageSid": "SM1"}

    with pytest.raises(MalformedInbound, match="From"):
        parse_twilio_inbound(WEBHOOK_URL, params, twilio_signature(WEBHOOK_URL, params, TOKEN), TOKEN)


NOTIFY_TOKEN = "a-long-random-callback-token"
NOTIFY_CALLBACK = {
    "id": "df10a23e-2c6d-4ea5-87fb-82e520cbf93c",
    "source_number": "447700900123",
    "destination_number": "07700900000",
    "message": "STOP",
    "date_received": "2026-11-23T12:15:30.000000Z",
}


def test_a_notify_callback_with_our_token_is_parsed():
    inbound = parse_notify_inbound(NOTIFY_CALLBACK, f"Bearer {NOTIFY_TOKEN}", NOTIFY_TOKEN)

    assert inbound.from_number == "447700900123"
    assert inbound.provider_message_id == "df10a23e-2c6d-4ea5-87fb-82e520cbf93c"
    assert inbound.is_stop


def test_a_notify_received_text_in_the_api_shape_is_parsed():
    payload = {key: value for key, value in NOTIFY_CALLBACK.items() if key != "message"} | {"content": "Quit"}

    assert parse_notify_inbound(payload, f"bearer {NOTIFY_TOKEN}", NOTIFY_TOKEN).is_stop


@pytest.mark.parametrize("header", [None, "", NOTIFY_TOKEN, f"Basic {NOTIFY_TOKEN}", "Bearer another-token"])
def test_a_notify_callback_without_our_token_is_rejected(header):
    with pytest.raises(InvalidSignature):
        parse_notify_inbound(NOTIFY_CALLBACK, header, NOTIFY_TOKEN)


def test_a_notify_callback_without_a_sender_is_malformed():
    payload = {key: value for key, value in NOTIFY_CALLBACK.items() if key != "source_number"}

    with pytest.raises(MalformedInbound):
        parse_notify_inbound(payload, f"Bearer {NOTIFY_TOKEN}", NOTIFY_TOKEN)


@pytest.mark.parametrize("payload", [[NOTIFY_CALLBACK], "STOP", NOTIFY_CALLBACK | {"message": None}])
def test_a_notify_callback_that_is_not_an_inbound_text_is_malformed(payload):
    with pytest.raises(MalformedInbound):
        parse_notify_inbound(payload, f"Bearer {NOTIFY_TOKEN}", NOTIFY_TOKEN)
