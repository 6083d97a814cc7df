"""GOV.UK Notify through its official client, which is synchronous, so each send runs in a thread."""

from __future__ import annotations

import asyncio

from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from notifications.sms.base import (
    PermanentSmsError,
    SmsResult,
    TransientSmsError,
    parse_retry_after,
)

NOTIFY_BASE_URL = "https://api.notifications.service.gov.uk"
NOTIFY_TIMEOUT = 15.0


class NotifySms:
    """Sends through a Notify template whose whole content is ``((body))``."""

    transactional = False

    def __init__(
        self, api_key: str, template_id: str, *, base_url: str = NOTIFY_BASE_URL, timeout: float = NOTIFY_TIMEOUT
    ) -> None:
        self.api_key = api_key
        self.template_id = template_id
        self.base_url = base_url
        self.timeout = timeout

    async def send(self, to_e164: str, body: str, *, reference: str) -> SmsResult:
        return await asyncio.to_thread(self._send, to_e164, body, reference)

    def _send(self, to_e164: str, body: str, reference: str) -> SmsResult:
        # One client per send: the client holds a requests.Session and is documented as not thread-safe.
        client = NotificationsAPIClient(self.api_key, base_url=self.base_url, timeout=self.timeout)
        try:
            response = client.send_sms_notification(
                phone_number=to_e164,
                template_id=self.template_id,
                personalisation={"body": body},
                reference=reference,
            )
        except HTTPError as exc:
            raise error_for(exc) from exc
        finally:
            client.request_session.close()
        return SmsResult(provider_message_id=response["id"])


def error_for(exc: HTTPError) -> TransientSmsError | PermanentSmsError:
    """Notify's status codes: 429 and 5xx (also a timeout or refused connection, reported as 503) retry."""
    status = exc.status_code
    message = f"GOV.UK Notify {status}: {exc.message}"
    if status == 429 or status >= 500:
        headers = exc.response.headers if exc.response is not None else {}
        return TransientSmsError(message, retry_after=parse_retry_after(headers.get("Retry-After")))
    return PermanentSmsError(message)
