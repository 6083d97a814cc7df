"""Unsubscribe links for e-mails: ``"{resident_id}.{mac}"``, an HMAC under the secret key.

Nothing is stored: the link is checkable with the key alone and works for as long as the key does,
which is what RFC 8058 one-click unsubscribe needs (a mail provider may follow it months later).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAC_LENGTH = 32  #: base64url characters kept from the HMAC (192 bits)
MAX_ID_DIGITS = 18


def _mac(secret_key: str, resident_id: int) -> str:
    digest = hmac.new(
        secret_key.encode(), f"unsubscribe:email:{resident_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def unsubscribe_token(secret_key: str, resident_id: int) -> str:
    """The token for ``/notifications/unsubscribe/{token}``."""
    return f"{resident_id}.{_mac(secret_key, resident_id)}"


def verify_unsubscribe_token(secret_key: str, token: str) -> int | None:
    """The resident a token names, or None for a malformed or forged token."""
    resident_id, dot, mac = (token or "").partition(".")
    if not dot or not mac or not (resident_id.isascii() and resident_id.isdigit()) or len(resident_id) > MAX_ID_DIGITS:
        return None
    if not hmac.compare_digest(token, unsubscribe_token(secret_key, int(resident_id))):
        return None
    return int(resident_id)
