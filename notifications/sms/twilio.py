"""Twilio's REST Messages API over httpx."""

from __future__ import annotations

import httpx

from notifications.sms.base import (
    PermanentSmsError,
    SmsResult,
    TransientSmsError,
    parse_retry_after,
)

TWILIO_BASE_URL = "https://api.twilio.com"
TWILIO_TIMEOUT = 15.0


class TwilioSms:
    """Sends from one number (or messaging service / alphanumeric sender) with the account's auth token."""

    transactional = False

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        base_url: str = TWILIO_BASE_URL,
        timeout: float = TWILIO_TIMEOUT,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    async def send(self, to_e164: str, body: str, *, reference: str) -> SmsResult:
        # Twilio has no client reference field; the caller keeps ``reference`` in its delivery log.
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    self.messages_url,
                    data={"To": to_e164, "From": self.from_number, "Body": body},
                    auth=(self.account_sid, self.auth_token),
                )
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            raise TransientSmsError(f"Twilio unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (200, 201):
            return SmsResult(provider_message_id=response.json()["sid"])
        raise error_for(response)


def error_for(response: httpx.Response) -> TransientSmsError | PermanentSmsError:
    status = response.status_code
    message = f"Twilio {status}{_describe(response)}"
    if status == 429 or status >= 500:
        return TransientSmsError(message, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    return PermanentSmsError(message)


def _describe(response: httpx.Response) -> str:
    """`` code 21211: The 'To' number ... is not a valid phone number.`` from Twilio's error body."""
    try:
        error = response.json()
    except ValueError:
        return ""
    if not isinstance(error, dict):
        return ""
    return f" code {error.get('code')}: {error.get('message', '')}"
