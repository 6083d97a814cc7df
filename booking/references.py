"""Short, human-friendly booking references and secret manage tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

#: No 0/O, 1/I/L: references are read out over the phone and typed from paper.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_PATTERN = re.compile(rf"^[{ALPHABET}]{{3}}-[{ALPHABET}]{{3}}$")


def new_reference() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"{chars[:3]}-{chars[3:]}"


def normalise_reference(text: str) -> str:
    """Accept what people type: lower case, spaces, missing dash, O for 0 and so on."""
    cleaned = re.sub(r"[^A-Za-z0-9]", "", text).upper().replace("0", "O").replace("1", "I")
    if len(cleaned) != 6:
        return text.strip().upper()
    return f"{cleaned[:3]}-{cleaned[3:]}"


def is_reference(text: str) -> bool:
    return bool(REFERENCE_PATTERN.match(text))


def new_manage_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    if not token or not stored_hash:
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)
