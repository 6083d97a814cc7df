"""One-time sign-in links for "Find my bookings": residents have no password.

A resident types the e-mail address or mobile number they booked with. If it belongs to someone, a
link is recorded (``sign_in_link``) with ``resident.sign_in_requested`` in the same transaction, and
the notification worker sends it. The answer to the resident is the same whether or not the address
is known, and at most ``MAX_LINKS`` links are issued per person per ``LIMIT_WINDOW``.

The link carries ``"{id}.{mac}"``: an HMAC under the secret key over the row's id and random nonce,
so the worker can build it without a token ever travelling in an event. A link works once, for
``LINK_LIFETIME``; opening it changes nothing (mail scanners follow links), only the button it
shows does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.tables import Resident, SignInLink
from booking.validation import EMAIL_PATTERN, is_digits, normalise_uk_phone
from commons.db import write_transaction
from events.outbox import record_event

LINK_LIFETIME = timedelta(minutes=30)
LIMIT_WINDOW = timedelta(minutes=15)
MAX_LINKS = 3  #: per resident per window: enough for "it did not arrive", not enough to flood anyone
MAC_LENGTH = 32  #: base64url characters kept from the HMAC (192 bits)
MAX_ROW_ID = 2**31 - 1  #: PostgreSQL's serial ids; anything bigger cannot be a link


class Channel:
    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class Contact:
    """What the resident typed, understood: exactly one of ``email`` and ``phone`` is set."""

    email: str | None = None
    phone: str | None = None

    @property
    def channel(self) -> str:
        return Channel.EMAIL if self.email else Channel.SMS


def parse_contact(text: object) -> tuple[Contact | None, str | None]:
    """An e-mail address or a UK mobile number, or a message saying what to type. Pure."""
    value = str(text or "").strip()
    if not value:
        return None, "Enter the email address or mobile number you booked with"
    if "@" in value:
        email = value.lower()
        if len(email) > 320 or not EMAIL_PATTERN.match(email):
            return None, "Enter an email address in the correct format, like name@example.com"
        return Contact(email=email), None
    phone = normalise_uk_phone(value)
    if phone is None:
        return None, "Enter an email address, like name@example.com, or a UK mobile number, like 07700 900 982"
    return Contact(phone=phone), None


def _mac(secret_key: str, link_id: int, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), f"sign-in:{link_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def sign_in_token(secret_key: str, link_id: int, nonce: str) -> str:
    """The token for ``/my-bookings/sign-in/{token}``."""
    return f"{link_id}.{_mac(secret_key, link_id, nonce)}"


def _link_id_of(token: str) -> int | None:
    link_id, dot, mac = (token or "").partition(".")
    if not dot or len(mac) != MAC_LENGTH or not is_digits(link_id) or len(link_id) > 10:
        return None
    return int(link_id) if 0 < int(link_id) <= MAX_ROW_ID else None


async def sign_in_link_token(secret_key: str, link_id: int) -> str | None:
    """The token for a recorded link (the notification worker builds the message with it)."""
    row = await SignInLink.select(SignInLink.nonce).where(SignInLink.id == link_id).first()
    return None if row is None else sign_in_token(secret_key, link_id, row["nonce"])


async def _residents_for(contact: Contact) -> list[int]:
    query = Resident.select(Resident.id).where(Resident.erased_at.is_null())
    if contact.email:
        query = query.where(Resident.email == contact.email)
    else:
        query = query.where(Resident.phone == contact.phone)
    return [row["id"] for row in await query]


async def request_sign_in_link(contact: Contact, *, now: datetime) -> int:
    """Record a link for each resident with this address (usually one), within the limit.

    Returns how many links were recorded, for tests and logs only: never show it to the resident.
    """
    issued = 0
    async with write_transaction(SignInLink._meta.db):
        for resident_id in await _residents_for(contact):
            recent = await SignInLink.count().where(
                (SignInLink.resident == resident_id) & (SignInLink.created_at > now - LIMIT_WINDOW)
            )
            if recent >= MAX_LINKS:
                continue
            link = SignInLink(
                resident=resident_id,
                channel=contact.channel,
                nonce=secrets.token_hex(16),
                created_at=now,
                expires_at=now + LINK_LIFETIME,
            )
            await link.save()
            await record_event(
                "resident.sign_in_requested",
                {"sign_in_link_id": link.id, "resident_id": resident_id, "channel": contact.channel},
            )
            issued += 1
    return issued


@dataclass(frozen=True)
class LinkState:
    link_id: int
    resident_id: int
    usable: bool  #: unused, unexpired, and the resident's data not erased
    used: bool
    expired: bool


async def find_sign_in_link(secret_key: str, token: str, *, now: datetime) -> LinkState | None:
    """What a link is, without using it; None for a malformed, forged or deleted link."""
    link_id = _link_id_of(token)
    if link_id is None:
        return None
    row = (
        await SignInLink.select(
            SignInLink.id,
            SignInLink.nonce,
            SignInLink.resident,
            SignInLink.expires_at,
            SignInLink.used_at,
            SignInLink.resident.erased_at.as_alias("erased_at"),
        )
        .where(SignInLink.id == link_id)
        .first()
    )
    if row is None or not hmac.compare_digest(token, sign_in_token(secret_key, link_id, row["nonce"])):
        return None
    used = row["used_at"] is not None
    expired = row["expires_at"] <= now
    return LinkState(link_id, row["resident"], not used and not expired and row["erased_at"] is None, used, expired)


async def redeem_sign_in_link(secret_key: str, token: str, *, now: datetime) -> int | None:
    """Use a link: the resident's id, once. A second use, an expired or a forged link gives None."""
    state = await find_sign_in_link(secret_key, token, now=now)
    if state is None or not state.usable:
        return None
    async with write_transaction(SignInLink._meta.db):
        # The conditional UPDATE is the single-use guarantee, however many tabs race for it.
        rows = await SignInLink.raw(
            "UPDATE sign_in_link SET used_at = {} WHERE id = {} AND used_at IS NULL RETURNING resident",
            now,
            state.link_id,
        )
    return rows[0]["resident"] if rows else None
