"""Accept and decline links for waiting-list offers, signed like the manage links.

An offer keeps only the hash of its random token, and tokens never travel in events, so the
notification worker cannot put the token in a message. The link carries ``"{offer_id}.{mac}"``: an
HMAC under the secret key over the offer id and its stored token hash. Unguessable without the key,
checkable without storing more, and dead once the offer is closed (the page then says why).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from booking.queries import SessionView, get_session
from booking.tables import WaitlistOffer
from booking.validation import is_digits

MAC_LENGTH = 32  #: base64url characters kept from the HMAC (192 bits)
MAX_ROW_ID = 2**31 - 1


@dataclass(frozen=True)
class OfferView:
    id: int
    token_hash: str  #: pass to ``accept_offer_by_hash`` / ``decline_offer_by_hash``
    party_size: int
    status: str  #: open | accepted | declined | expired
    offered_at: datetime
    expires_at: datetime
    session: SessionView


def _mac(secret_key: str, offer_id: int, token_hash: str) -> str:
    digest = hmac.new(secret_key.encode(), f"offer:{offer_id}:{token_hash}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def signed_offer_token(secret_key: str, offer_id: int, token_hash: str) -> str:
    """The token for ``/offers/{token}``."""
    return f"{offer_id}.{_mac(secret_key, offer_id, token_hash)}"


def offer_id_of(token: str) -> int | None:
    offer_id, dot, mac = (token or "").partition(".")
    if not dot or not mac or not is_digits(offer_id) or len(offer_id) > 10:
        return None
    return int(offer_id) if 0 < int(offer_id) <= MAX_ROW_ID else None  # PostgreSQL's integer ids


async def offer_link_token(secret_key: str, offer_id: int) -> str | None:
    """The signed token for an offer's accept and decline links (deterministic); None if no such offer."""
    row = await WaitlistOffer.select(WaitlistOffer.token_hash).where(WaitlistOffer.id == offer_id).first()
    return None if row is None else signed_offer_token(secret_key, offer_id, row["token_hash"])


async def find_offer_for_link(secret_key: str, token: str) -> OfferView | None:
    """The offer a link opens, whatever its state; None for a malformed or forged token."""
    offer_id = offer_id_of(token)
    if offer_id is None:
        return None
    row = (
        await WaitlistOffer.select(
            WaitlistOffer.id,
            WaitlistOffer.token_hash,
            WaitlistOffer.party_size,
            WaitlistOffer.status,
            WaitlistOffer.offered_at,
            WaitlistOffer.expires_at,
            WaitlistOffer.session,
        )
        .where(WaitlistOffer.id == offer_id)
        .first()
    )
    if row is None or not hmac.compare_digest(token, signed_offer_token(secret_key, offer_id, row["token_hash"])):
        return None
    session = await get_session(row["session"])
    if session is None:
        return None
    return OfferView(
        id=row["id"],
        token_hash=row["token_hash"],
        party_size=row["party_size"],
        status=row["status"],
        offered_at=row["offered_at"],
        expires_at=row["expires_at"],
        session=session,
    )
