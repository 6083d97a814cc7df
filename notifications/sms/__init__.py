"""Text messages: one provider interface, three backends, chosen by a ``COMMONS_SMS_URL``-style setting.

URL formats (percent-encode any reserved character in a value):

``notify://<api_key>?template_id=<uuid>[&base_url=<https://api host>]``
    GOV.UK Notify. ``api_key`` is the key as Notify shows it, ``{key name}-{service id}-{secret}``.
    ``template_id`` is required: a text-message template whose whole content is ``((body))``.
    ``base_url`` defaults to ``https://api.notifications.service.gov.uk``.

``twilio://<account_sid>:<auth_token>@<from>[?base_url=<https://api host>]``
    Twilio's Messages API. ``from`` is the sending number in E.164 (``%2B447700900123`` or
    ``+447700900123``), an alphanumeric sender id or a messaging service sid. ``base_url`` defaults
    to ``https://api.twilio.com``.

``dev://``
    No provider: texts are written to the development mailbox (``/dev/mailbox``) beside e-mail.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from notifications.sms.base import (
    PermanentSmsError,
    SmsError,
    SmsProvider,
    SmsResult,
    TransientSmsError,
)
from notifications.sms.dev import DevOutboxSms
from notifications.sms.notify import NOTIFY_BASE_URL, NotifySms
from notifications.sms.twilio import TWILIO_BASE_URL, TwilioSms

__all__ = [
    "DevOutboxSms",
    "InvalidSmsUrl",
    "NotifySms",
    "PermanentSmsError",
    "SmsError",
    "SmsProvider",
    "SmsResult",
    "TransientSmsError",
    "TwilioSms",
    "provider_from_url",
]


class InvalidSmsUrl(ValueError):
    """The SMS setting cannot be understood; raised at start-up, never at send time."""


def provider_from_url(url: str) -> SmsProvider:
    parts = urlsplit(url)
    query = _query(parts.query)
    if parts.scheme == "dev":
        return DevOutboxSms()
    if parts.scheme == "notify":
        return _notify(parts.netloc, query)
    if parts.scheme == "twilio":
        return _twilio(parts.netloc, query)
    raise InvalidSmsUrl(f"unknown SMS provider {parts.scheme!r}: use notify://, twilio:// or dev://")


def _notify(netloc: str, query: dict[str, str]) -> NotifySms:
    api_key = unquote(netloc)
    if len(api_key) < 74:  # the client slices the service id and secret (two uuids) off the end
        raise InvalidSmsUrl("notify:// needs the API key as Notify shows it: {name}-{service id}-{secret}")
    template_id = query.get("template_id")
    if not template_id:
        raise InvalidSmsUrl("notify:// needs ?template_id= (a text template whose content is ((body)))")
    return NotifySms(api_key, template_id, base_url=query.get("base_url", NOTIFY_BASE_URL))


def _twilio(netloc: str, query: dict[str, str]) -> TwilioSms:
    # Split by hand: urlsplit's hostname would lower-case a messaging service sid.
    credentials, at, sender = netloc.rpartition("@")
    sid, colon, token = credentials.partition(":")
    if not (at and colon and sid and token and sender):
        raise InvalidSmsUrl("twilio:// needs <account_sid>:<auth_token>@<from number>")
    return TwilioSms(
        unquote(sid), unquote(token), unquote(sender), base_url=query.get("base_url", TWILIO_BASE_URL)
    )


def _query(query: str) -> dict[str, str]:
    # keep_blank_values: a literal "+" in a value is a space here, so "%2B" is the safe spelling.
    return {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
