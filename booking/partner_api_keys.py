"""Partners' API keys for the referrals JSON API, and what a key may read.

A key belongs to one partner. Its secret, ``cmk_<key id>_<random>``, is shown once when it is made; only
the SHA-256 of the random part is stored (32 random bytes need no slow hash: nobody can guess them, so a
stolen table gives nothing to try a dictionary on) and it is compared in constant time. A revoked key stops
working at once. A key also stops working when the account that made it no longer works for the partner
(deactivated, given another role, or linked to another partner): referrals made with it are that person's.

Everything a key reads is filtered by its partner in SQL, so one partner never sees another's referrals,
and only referrals are listed, so no booking that was not referred ever appears.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.audit import record_audit
from booking.errors import BookingError
from booking.references import hash_token, token_matches
from booking.referrals import MAX_ROW_ID, NotAPartner, partner_of
from booking.staff import StaffUser
from booking.states import StaffRole
from booking.tables import PartnerApiKey
from commons.db import write_transaction

PREFIX = "cmk"
MAX_KEY_NAME = 100
SECRET_BYTES = 32
LAST_USED_RESOLUTION = timedelta(minutes=1)  #: ``last_used_at`` is written at most once a minute per key


class ApiKeyNotFound(BookingError):
    code = "api_key_not_found"
    message = "We could not find that API key. It may belong to another organisation."
    http_status = 404


@dataclass(frozen=True)
class ApiKeyMade:
    id: int
    name: str
    secret: str  #: shown once, never stored


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str
    created_by_name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class ApiCaller:
    """Who an accepted key speaks for: the partner, and the account that made the key."""

    key_id: int
    partner_id: int
    actor: StaffUser


# --- Pure rules ---------------------------------------------------------------------------------


def validate_key_name(text: object) -> tuple[str, dict[str, str]]:
    name = str(text or "").strip()
    if not name:
        return name, {"name": "Enter a name for the key, like the system that will use it"}
    if len(name) > MAX_KEY_NAME:
        return name, {"name": f"The name must be {MAX_KEY_NAME} characters or fewer"}
    return name, {}


def parse_secret(secret: str) -> tuple[int, str] | None:
    """``cmk_<id>_<random>`` -> (id, random); None for anything else. Pure."""
    prefix, _, rest = (secret or "").strip().partition("_")
    key_id, _, random_part = rest.partition("_")
    if prefix != PREFIX or not random_part or not (key_id.isascii() and key_id.isdigit()) or len(key_id) > 10:
        return None
    if not 0 < int(key_id) <= MAX_ROW_ID:
        return None
    return int(key_id), random_part


# --- Use cases ----------------------------------------------------------------------------------


async def create_api_key(actor: StaffUser, name: str, now: datetime) -> ApiKeyMade:
    """A new key for the actor's partner. The secret is in the answer and nowhere else."""
    partner_id = await partner_of(actor)
    random_part = secrets.token_urlsafe(SECRET_BYTES)
    async with write_transaction(PartnerApiKey._meta.db):
        key = PartnerApiKey(
            partner=partner_id, name=name, secret_hash=hash_token(random_part), created_by=actor.id, created_at=now
        )
        await key.save()
        await record_audit(
            actor,
            "partner_api_key.created",
            "partner_api_key",
            key.id,
            summary=f"Made the API key \N{LEFT DOUBLE QUOTATION MARK}{name}\N{RIGHT DOUBLE QUOTATION MARK}",
            after={"name": name, "partner_id": partner_id},
            now=now,
        )
    return ApiKeyMade(key.id, name, f"{PREFIX}_{key.id}_{random_part}")


async def revoke_api_key(actor: StaffUser, key_id: int, now: datetime) -> None:
    """Stop a key of the actor's own partner working, at once. Revoking twice changes nothing."""
    partner_id = await partner_of(actor)
    async with write_transaction(PartnerApiKey._meta.db):
        rows = await PartnerApiKey.raw(
            "UPDATE partner_api_key SET revoked_at = {} WHERE id = {} AND partner = {} AND revoked_at IS NULL "
            "RETURNING id, name",
            now,
            key_id,
            partner_id,
        )
        if not rows:
            if await PartnerApiKey.exists().where((PartnerApiKey.id == key_id) & (PartnerApiKey.partner == partner_id)):
                return  # already revoked
            raise ApiKeyNotFound()
        await record_audit(
            actor,
            "partner_api_key.revoked",
            "partner_api_key",
            key_id,
            summary=f"Revoked the API key \N{LEFT DOUBLE QUOTATION MARK}{rows[0]['name']}\N{RIGHT DOUBLE QUOTATION MARK}",
            before={"revoked": False},
            after={"revoked": True},
            now=now,
        )


async def authenticate(secret: str, now: datetime) -> ApiCaller | None:
    """The caller a presented secret speaks for; None when it is malformed, wrong, revoked or orphaned."""
    parsed = parse_secret(secret)
    if parsed is None:
        return None
    key_id, random_part = parsed
    row = (
        await PartnerApiKey.select(
            PartnerApiKey.partner,
            PartnerApiKey.secret_hash,
            PartnerApiKey.revoked_at,
            PartnerApiKey.last_used_at,
            PartnerApiKey.created_by,
            PartnerApiKey.created_by.email.as_alias("email"),
            PartnerApiKey.created_by.name.as_alias("staff_name"),
            PartnerApiKey.created_by.role.as_alias("role"),
            PartnerApiKey.created_by.active.as_alias("active"),
        )
        .where(PartnerApiKey.id == key_id)
        .first()
    )
    if row is None or not token_matches(random_part, row["secret_hash"]) or row["revoked_at"] is not None:
        return None
    if row["created_by"] is None or not row["active"] or row["role"] != StaffRole.PARTNER.value:
        return None
    actor = StaffUser(row["created_by"], row["email"], row["staff_name"], StaffRole.PARTNER, frozenset())
    try:
        if await partner_of(actor) != row["partner"]:
            return None
    except NotAPartner:
        return None
    if row["last_used_at"] is None or row["last_used_at"] <= now - LAST_USED_RESOLUTION:
        async with write_transaction(PartnerApiKey._meta.db):
            await PartnerApiKey.update({PartnerApiKey.last_used_at: now}).where(PartnerApiKey.id == key_id)
    return ApiCaller(key_id, row["partner"], actor)


# --- Read models --------------------------------------------------------------------------------


async def partner_api_keys(partner_id: int) -> list[ApiKeyView]:
    """A partner's keys, newest first, revoked ones included (greyed out on the page)."""
    rows = (
        await PartnerApiKey.select(
            PartnerApiKey.id,
            PartnerApiKey.name,
            PartnerApiKey.created_by.name.as_alias("created_by_name"),
            PartnerApiKey.created_at,
            PartnerApiKey.last_used_at,
            PartnerApiKey.revoked_at,
        )
        .where(PartnerApiKey.partner == partner_id)
        .order_by(PartnerApiKey.id, ascending=False)
    )
    return [
        ApiKeyView(
            row["id"],
            row["name"],
            row["created_by_name"] or "",
            row["created_at"],
            row["last_used_at"],
            row["revoked_at"],
        )
        for row in rows
    ]
