"""Manage links for e-mails: signed with the secret key over the booking's stored token hash.

The booking keeps only the hash of its manage token, so an e-mail cannot carry that token. Instead the
notification worker signs the reference together with the stored hash. Clearing or changing
``manage_token_hash`` revokes every link signed over it, and no token travels in an event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from booking.queries import BookingView, get_booking_by_reference
from booking.references import is_reference
from booking.tables import Booking

MAC_LENGTH = 32  #: base64url characters kept from the HMAC (192 bits)


def _mac(secret_key: str, reference: str, manage_token_hash: str) -> str:
    digest = hmac.new(
        secret_key.encode(), f"manage:{reference}:{manage_token_hash}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def signed_manage_token(secret_key: str, reference: str, manage_token_hash: str) -> str:
    """A token for ``/bookings/manage/{token}``: ``"{reference}.{mac}"``."""
    return f"{reference}.{_mac(secret_key, reference, manage_token_hash)}"


def reference_of(token: str) -> str | None:
    """The booking reference a signed token names, or None if it does not look like one."""
    reference, dot, mac = token.partition(".")
    if not dot or not mac or not is_reference(reference):
        return None
    return reference


def verify_signed_manage_token(secret_key: str, token: str, manage_token_hash: str) -> bool:
    reference = reference_of(token or "")
    if reference is None or not manage_token_hash:
        return False  # an empty hash means the booking's links were revoked
    return hmac.compare_digest(token, signed_manage_token(secret_key, reference, manage_token_hash))


async def signed_token_for_booking(secret_key: str, booking_id: int) -> str | None:
    """The signed manage token for a booking (deterministic); None if it has none."""
    row = (
        await Booking.select(Booking.reference, Booking.manage_token_hash).where(Booking.id == booking_id).first()
    )
    if row is None or not row["manage_token_hash"]:
        return None
    return signed_manage_token(secret_key, row["reference"], row["manage_token_hash"])


async def find_booking_by_signed_token(secret_key: str, token: str) -> BookingView | None:
    """The booking a signed manage link opens; None for a malformed, forged or revoked token."""
    reference = reference_of(token or "")
    if reference is None:
        return None
    row = await Booking.select(Booking.manage_token_hash).where(Booking.reference == reference).first()
    if row is None or not verify_signed_manage_token(secret_key, token, row["manage_token_hash"]):
        return None
    return await get_booking_by_reference(reference)


async def find_booking_for_manage_link(secret_key: str, token: str) -> BookingView | None:
    """The booking a manage link opens, whichever kind of token it carries.

    E-mails carry a signed token (``REF.mac``); the confirmation page and the API hand out the
    random token returned by ``book_place``. Both are revoked by clearing ``manage_token_hash``.
    """
    from booking.queries import get_booking_by_manage_token

    if reference_of(token or "") is not None:
        return await find_booking_by_signed_token(secret_key, token)
    return await get_booking_by_manage_token(token)
