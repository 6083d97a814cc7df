"""Replies from residents (``STOP``) as each provider's inbound-message webhook delivers them.

Pure parsing and verification only; the web routes that receive the webhooks call these.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The words carriers and providers treat as opt-out; matched on the whole trimmed message.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})


@dataclass(frozen=True)
class InboundSms:
    from_number: str  #: the resident's number, as the provider sent it
    body: str
    provider_message_id: str

    @property
    def is_stop(self) -> bool:
        return is_stop_request(self.body)


class InvalidSignature(ValueError):
    """The webhook was not signed by the provider we configured; answer 403 and ignore it."""


class MalformedInbound(ValueError):
    """The webhook lacks a field every inbound message has; answer 400."""


def is_stop_request(body: str) -> bool:
    return body.strip().upper() in STOP_WORDS


def twilio_signature(url: str, params: Mapping[str, str | Sequence[str]], auth_token: str) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1 of the full URL then each sorted key and value."""
    payload = url
    for key in sorted(params):
        values = params[key]
        for value in sorted([values] if isinstance(values, str) else values):
            payload += key + value
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_twilio_inbound(
    url: str, params: Mapping[str, str | Sequence[str]], signature: str | None, auth_token: str
) -> InboundSms:
    """``url`` is the full URL Twilio called (scheme, host, path, query), as configured in Twilio."""
    expected = twilio_signature(url, params, auth_token)
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise InvalidSignature("X-Twilio-Signature does not match")
    return InboundSms(
        from_number=_single(params, "From"),
        body=_single(params, "Body", required=False),
        provider_message_id=_single(params, "MessageSid"),
    )


def parse_notify_inbound(payload: Mapping, authorization_header: str | None, expected_token: str) -> InboundSms:
    """Notify's received-text callback, sent with ``Authorization: Bearer <the token we gave Notify>``."""
    scheme, _, token = (authorization_header or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected_token.encode()):
        raise InvalidSignature("Authorization bearer token does not match")
    if not isinstance(payload, Mapping):
        raise MalformedInbound("Notify inbound callback must be a JSON object")
    # The callback calls the text "message"; the received-text-messages API calls it "content".
    body = payload.get("message", payload.get("content"))
    source, message_id = payload.get("source_number"), payload.get("id")
    if not all(isinstance(value, str) for value in (body, source, message_id)):
        raise MalformedInbound("Notify inbound callback needs id, source_number and message")
    return InboundSms(from_number=source, body=body, provider_message_id=message_id)


def _single(params: Mapping[str, str | Sequence[str]], key: str, *, required: bool = True) -> str:
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        value = value[0] if len(value) == 1 else None
    if value is None:
        if required:
            raise MalformedInbound(f"Twilio inbound webhook needs exactly one {key}")
        return ""
    return value
