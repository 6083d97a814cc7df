"""The SMS provider interface and the two ways a send can fail, shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SmsResult:
    provider_message_id: str  #: the provider's id for the message (Notify uuid, Twilio SM..., dev uuid)


class SmsError(RuntimeError):
    """The provider did not accept the message."""


class TransientSmsError(SmsError):
    """Worth retrying with backoff: rate limited, provider error (5xx), timeout, connection refused."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        #: seconds the provider asked us to wait (Retry-After), if it said
        self.retry_after = retry_after


class PermanentSmsError(SmsError):
    """Never worth retrying: bad number, bad credentials, a request the provider rejects as invalid."""


class SmsProvider(Protocol):
    #: True when ``send`` only writes rows, so it can share the transaction that records the delivery
    #: (exactly once); False when it talks to the outside world and must run before that transaction.
    transactional: bool

    async def send(self, to_e164: str, body: str, *, reference: str) -> SmsResult: ...


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; ``None`` when absent or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)
