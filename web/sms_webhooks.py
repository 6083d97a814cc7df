"""Texts residents send back, as the SMS provider's inbound webhook delivers them: STOP withdraws consent.

Providers authenticate themselves (Twilio signs each request, GOV.UK Notify sends the bearer token we
gave it), so these routes are exempt from CSRF and keep no session. Anything but STOP is logged and
acknowledged: nobody reads replies, and an error would only make the provider retry.
"""

from __future__ import annotations

import logging

import msgspec
from litestar import Controller, Request, Response, post
from litestar.enums import MediaType
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_204_NO_CONTENT,
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
)

from booking.clock import SystemClock
from booking.validation import normalise_uk_phone
from commons.settings import Settings
from notifications.preferences import stop_texts
from notifications.sms import TwilioSms, provider_from_url
from notifications.sms.inbound import (
    InboundSms,
    InvalidSignature,
    MalformedInbound,
    parse_notify_inbound,
    parse_twilio_inbound,
)

logger = logging.getLogger(__name__)

TWILIO_PATH = "/webhooks/sms/twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'  #: "no reply" to Twilio
TEXT_XML = "text/xml"


def inbound_e164(number: str) -> str:
    """The sender in the form residents' numbers are stored in: ``+447…``. Notify drops the ``+``."""
    number = number.strip()
    uk = normalise_uk_phone(number) or normalise_uk_phone("+" + number)
    if uk:
        return uk
    return number if number.startswith("+") else "+" + number


async def act_on(message: InboundSms, provider: str) -> None:
    if not message.is_stop:
        logger.info("Inbound text %s from %s ignored: not a stop request", message.provider_message_id, provider)
        return
    changed = await stop_texts(inbound_e164(message.from_number), SystemClock().now())
    logger.info("Inbound text %s from %s: STOP, %d resident(s) opted out", message.provider_message_id, provider, changed)


def _twilio_auth_token(settings: Settings) -> str | None:
    if not (settings.sms_url or "").startswith("twilio://"):
        return None
    provider = provider_from_url(settings.sms_url)
    return provider.auth_token if isinstance(provider, TwilioSms) else None


def _plain(text: str, status_code: int) -> Response[str]:
    return Response(text, status_code=status_code, media_type=MediaType.TEXT)


class SmsWebhookController(Controller):
    include_in_schema = False
    path = "/webhooks/sms"

    @post("/twilio", name="twilio_inbound", status_code=HTTP_200_OK)
    async def twilio(self, request: Request) -> Response[str]:
        settings: Settings = request.app.state.settings
        auth_token = _twilio_auth_token(settings)
        if auth_token is None:
            return _plain("Twilio is not the SMS provider here.", HTTP_404_NOT_FOUND)
        form = await request.form()
        params: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                params.setdefault(key, []).append(value)
        # Twilio signs the URL it was configured with; behind a proxy only base_url knows it.
        url = settings.base_url + TWILIO_PATH + (f"?{request.url.query}" if request.url.query else "")
        try:
            message = parse_twilio_inbound(url, params, request.headers.get("x-twilio-signature"), auth_token)
        except InvalidSignature:
            logger.warning("Twilio webhook with a bad signature from %s", request.client.host if request.client else "?")
            return _plain("The signature does not match.", HTTP_403_FORBIDDEN)
        except MalformedInbound as exc:
            return _plain(str(exc), HTTP_400_BAD_REQUEST)
        await act_on(message, "twilio")
        return Response(EMPTY_TWIML, status_code=HTTP_200_OK, media_type=TEXT_XML)

    @post("/notify", name="notify_inbound", status_code=HTTP_200_OK)
    async def notify(self, request: Request) -> Response[str | None]:
        settings: Settings = request.app.state.settings
        if not settings.sms_inbound_token:
            return _plain("No inbound token is configured.", HTTP_403_FORBIDDEN)
        try:
            payload: object = msgspec.json.decode(await request.body())
        except msgspec.DecodeError:
            payload = None  # the token is checked first, so a stranger learns nothing from a 400
        try:
            message = parse_notify_inbound(payload, request.headers.get("authorization"), settings.sms_inbound_token)
        except InvalidSignature:
            return _plain("The bearer token does not match.", HTTP_403_FORBIDDEN)
        except MalformedInbound as exc:
            return _plain(str(exc), HTTP_400_BAD_REQUEST)
        await act_on(message, "notify")
        return Response(None, status_code=HTTP_204_NO_CONTENT)
