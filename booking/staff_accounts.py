"""Staff accounts: passwords (argon2id), signing in with a lockout, and one-time set-password links.

A new account has no password: ``commons staff create`` prints a link to set one. "Forgotten your
password?" records a reset link with ``staff.password_reset_requested`` and the notification worker
e-mails it. Links carry ``"{id}.{mac}"`` (an HMAC over the row's id, purpose and random nonce), work
once and expire. Setting a password bumps ``auth_version``, which signs out every browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from booking.audit import record_audit
from booking.staff import StaffUser
from booking.states import StaffLinkPurpose, StaffRole
from booking.tables import StaffLink, StaffMember, StaffVenue, Venue
from booking.validation import EMAIL_PATTERN, is_digits
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction
from events.outbox import record_event

MAX_FAILED_SIGN_INS = 5  #: wrong passwords in a row before the account is locked for a while
LOCKED_FOR = timedelta(minutes=15)
LINK_LIFETIME = {
    StaffLinkPurpose.SET_PASSWORD: timedelta(days=7),  #: a new colleague may not read it the same day
    StaffLinkPurpose.RESET_PASSWORD: timedelta(hours=1),
}
RESET_LIMIT_WINDOW = timedelta(minutes=15)
MAX_RESET_LINKS = 3
MIN_PASSWORD_LENGTH = 12  #: NCSC advice: length over complexity rules
MAX_PASSWORD_LENGTH = 256
MAC_LENGTH = 32
MAX_ROW_ID = 2**31 - 1



def _password_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's recommended costs; the test suite (``COMMONS_ENV=test``) uses the lowest.

    Tests sign in hundreds of times; the algorithm and every code path stay the same. A hash made with
    other costs is still verified, and rehashed with these at the next sign-in.
    """
    if os.environ.get("COMMONS_ENV") == "test":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


_hasher = _password_hasher()
#: Verified against when the e-mail address is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class StaffAccountError(Exception):
    """A plain-English reason an account action cannot be done."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignInRefused(StaffAccountError):
    pass


SIGN_IN_REFUSED = (
    "The email address or password is not right. After 5 wrong attempts an account is locked for 15 minutes: "
    "wait, or reset your password."
)


def normalise_email(text: object) -> str:
    return str(text or "").strip().lower()


def check_email(email: str) -> str | None:
    if not email:
        return "Enter an email address"
    if len(email) > 320 or not EMAIL_PATTERN.match(email):
        return "Enter an email address in the correct format, like name@example.com"
    return None


def check_new_password(password: str, email: str = "") -> str | None:
    """A message saying what is wrong with a new password, or None. Pure."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be {MIN_PASSWORD_LENGTH} characters or more"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    if email and password.strip().lower() == email.lower():
        return "Password must not be your email address"
    if len(set(password)) < 4:
        return "Password must not be one or two characters repeated"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def load_staff_user(staff_member_id: int) -> tuple[StaffUser, int] | None:
    """The active staff member and their ``auth_version``, or None (unknown or deactivated)."""
    row = (
        await StaffMember.select(
            StaffMember.id, StaffMember.email, StaffMember.name, StaffMember.role, StaffMember.auth_version
        )
        .where((StaffMember.id == staff_member_id) & (StaffMember.active.eq(True)))
        .first()
    )
    if row is None:
        return None
    venues = await StaffVenue.select(StaffVenue.venue).where(StaffVenue.staff_member == staff_member_id)
    user = StaffUser(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=StaffRole(row["role"]),
        venue_ids=frozenset(v["venue"] for v in venues),
    )
    return user, row["auth_version"]


async def authenticate(email: str, password: str, *, now: datetime) -> tuple[StaffUser, int]:
    """Check an e-mail address and password; the staff member and their ``auth_version``, or ``SignInRefused``.

    Five wrong passwords in a row lock the account for ``LOCKED_FOR`` (a right password during the lock
    is refused too). The message never says whether the address has an account.
    """
    email = normalise_email(email)
    row = (
        await StaffMember.select(
            StaffMember.id, StaffMember.password_hash, StaffMember.locked_until, StaffMember.active
        )
        .where(StaffMember.email == email)
        .first()
    )
    if row is None or not row["active"] or row["password_hash"] is None:
        _verify(_DUMMY_HASH, password)
        raise SignInRefused(SIGN_IN_REFUSED)
    locked = row["locked_until"] is not None and row["locked_until"] > now
    if locked or not _verify(row["password_hash"], password):
        if not locked:
            await _count_failure(row["id"], now)
        raise SignInRefused(SIGN_IN_REFUSED)
    loaded = await load_staff_user(row["id"])
    if loaded is None:
        raise SignInRefused(SIGN_IN_REFUSED)
    async with write_transaction(StaffMember._meta.db):
        values = {StaffMember.failed_sign_ins: 0, StaffMember.locked_until: None, StaffMember.last_sign_in_at: now}
        if _hasher.check_needs_rehash(row["password_hash"]):
            values[StaffMember.password_hash] = hash_password(password)
        await StaffMember.update(values).where(StaffMember.id == row["id"])
        await record_audit(loaded[0], "staff.signed_in", "staff_member", row["id"], summary="Signed in.", now=now)
    return loaded


async def record_sign_out(user: StaffUser, *, now: datetime) -> None:
    """Signing out is a staff action too: the log shows when a shared desk computer changed hands."""
    await record_audit(user, "staff.signed_out", "staff_member", user.id, summary="Signed out.", now=now)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _count_failure(staff_member_id: int, now: datetime) -> None:
    async with write_transaction(StaffMember._meta.db):
        rows = await StaffMember.raw(
            "UPDATE staff_member SET failed_sign_ins = failed_sign_ins + 1 WHERE id = {} RETURNING failed_sign_ins",
            staff_member_id,
        )
        if rows and rows[0]["failed_sign_ins"] >= MAX_FAILED_SIGN_INS:
            await StaffMember.update(
                {StaffMember.locked_until: now + LOCKED_FOR, StaffMember.failed_sign_ins: 0}
            ).where(StaffMember.id == staff_member_id)


# --- Accounts ------------------------------------------------------------------------------------


async def create_staff_member(
    email: str, role: StaffRole, *, venue_slugs: list[str] = (), name: str = "", now: datetime
) -> tuple[int, int]:
    """A new account with no password, and a set-password link for it: ``(staff_member_id, link_id)``."""
    email = normalise_email(email)
    problem = check_email(email)
    if problem:
        raise StaffAccountError(problem)
    if role is not StaffRole.ADMIN and not venue_slugs:
        raise StaffAccountError(f"A {role.value} works at one or more venues: give --venue")
    async with write_transaction(StaffMember._meta.db):
        venue_ids = []
        for slug in venue_slugs:
            venue = await Venue.select(Venue.id).where(Venue.slug == slug).first()
            if venue is None:
                raise StaffAccountError(f"There is no venue called {slug!r}")
            venue_ids.append(venue["id"])
        if await StaffMember.exists().where(StaffMember.email == email):
            raise StaffAccountError(f"There is already a staff account for {email}")
        member = StaffMember(email=email, name=name.strip(), role=role.value, created_at=now)
        try:
            await member.save()
        except UNIQUE_VIOLATION_ERRORS as error:
            raise StaffAccountError(f"There is already a staff account for {email}") from error
        for venue_id in dict.fromkeys(venue_ids):
            await StaffVenue(staff_member=member.id, venue=venue_id).save()
        link_id = await _new_link(member.id, StaffLinkPurpose.SET_PASSWORD, now)
    return member.id, link_id


async def new_set_password_link(staff_member_id: int, *, now: datetime) -> int:
    """Another link to set a first password (for an admin re-sending an invitation)."""
    async with write_transaction(StaffLink._meta.db):
        return await _new_link(staff_member_id, StaffLinkPurpose.SET_PASSWORD, now)


async def _new_link(staff_member_id: int, purpose: StaffLinkPurpose, now: datetime) -> int:
    link = StaffLink(
        staff_member=staff_member_id,
        purpose=purpose.value,
        nonce=secrets.token_hex(16),
        created_at=now,
        expires_at=now + LINK_LIFETIME[purpose],
    )
    await link.save()
    return link.id


async def request_password_reset(email: str, *, now: datetime) -> bool:
    """Record a reset link and ``staff.password_reset_requested`` if the address has an active account.

    Returns whether it did, for tests and logs only: the page says the same either way.
    """
    email = normalise_email(email)
    async with write_transaction(StaffMember._meta.db):
        row = await StaffMember.select(StaffMember.id).where(
            (StaffMember.email == email) & (StaffMember.active.eq(True))
        ).first()
        if row is None:
            return False
        recent = await StaffLink.count().where(
            (StaffLink.staff_member == row["id"])
            & (StaffLink.purpose == StaffLinkPurpose.RESET_PASSWORD.value)
            & (StaffLink.created_at > now - RESET_LIMIT_WINDOW)
        )
        if recent >= MAX_RESET_LINKS:
            return False
        link_id = await _new_link(row["id"], StaffLinkPurpose.RESET_PASSWORD, now)
        await record_event(
            "staff.password_reset_requested", {"staff_link_id": link_id, "staff_member_id": row["id"]}
        )
    return True


# --- Links ---------------------------------------------------------------------------------------


def _mac(secret_key: str, link_id: int, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), f"staff-link:{link_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def link_token(secret_key: str, link_id: int, nonce: str) -> str:
    """The token for ``/staff/password/{token}``."""
    return f"{link_id}.{_mac(secret_key, link_id, nonce)}"


async def staff_link_token(secret_key: str, link_id: int) -> str | None:
    row = await StaffLink.select(StaffLink.nonce).where(StaffLink.id == link_id).first()
    return None if row is None else link_token(secret_key, link_id, row["nonce"])


def _link_id_of(token: str) -> int | None:
    link_id, dot, mac = (token or "").partition(".")
    if not dot or len(mac) != MAC_LENGTH or not is_digits(link_id) or len(link_id) > 10:
        return None
    return int(link_id) if 0 < int(link_id) <= MAX_ROW_ID else None


@dataclass(frozen=True)
class StaffLinkState:
    link_id: int
    staff_member_id: int
    email: str
    purpose: StaffLinkPurpose
    usable: bool
    used: bool
    expired: bool


async def find_staff_link(secret_key: str, token: str, *, now: datetime) -> StaffLinkState | None:
    """What a link is, without using it; None for a malformed, forged or deleted link."""
    link_id = _link_id_of(token)
    if link_id is None:
        return None
    row = (
        await StaffLink.select(
            StaffLink.id,
            StaffLink.nonce,
            StaffLink.purpose,
            StaffLink.staff_member,
            StaffLink.expires_at,
            StaffLink.used_at,
            StaffLink.staff_member.email.as_alias("email"),
            StaffLink.staff_member.active.as_alias("active"),
        )
        .where(StaffLink.id == link_id)
        .first()
    )
    if row is None or not hmac.compare_digest(token, link_token(secret_key, link_id, row["nonce"])):
        return None
    used = row["used_at"] is not None
    expired = row["expires_at"] <= now
    return StaffLinkState(
        link_id,
        row["staff_member"],
        row["email"],
        StaffLinkPurpose(row["purpose"]),
        usable=not used and not expired and bool(row["active"]),
        used=used,
        expired=expired,
    )


async def set_password_with_link(secret_key: str, token: str, password: str, *, now: datetime) -> int:
    """Use a link to set a password; the staff member's id. Raises ``StaffAccountError`` saying why not."""
    state = await find_staff_link(secret_key, token, now=now)
    if state is None or not state.usable:
        raise StaffAccountError("This link has expired or has already been used. Ask for a new one.")
    problem = check_new_password(password, state.email)
    if problem:
        raise StaffAccountError(problem)
    password_hash = hash_password(password)
    async with write_transaction(StaffLink._meta.db):
        used = await StaffLink.raw(
            "UPDATE staff_link SET used_at = {} WHERE id = {} AND used_at IS NULL RETURNING id", now, state.link_id
        )
        if not used:
            raise StaffAccountError("This link has expired or has already been used. Ask for a new one.")
        await StaffMember.raw(
            "UPDATE staff_member SET password_hash = {}, auth_version = auth_version + 1, failed_sign_ins = 0, "
            "locked_until = NULL WHERE id = {}",
            password_hash,
            state.staff_member_id,
        )
        loaded = await load_staff_user(state.staff_member_id)
        if loaded is not None:
            what = "Set their password" if state.purpose is StaffLinkPurpose.SET_PASSWORD else "Reset their password"
            await record_audit(
                loaded[0], f"staff.{state.purpose.value}", "staff_member", state.staff_member_id,
                summary=f"{what} with a one-time link; signed out everywhere else.", now=now,
            )
    return state.staff_member_id


async def change_password(staff_member_id: int, current: str, new: str) -> None:
    """A signed-in staff member changes their own password (signs out their other browsers)."""
    row = await StaffMember.select(StaffMember.password_hash, StaffMember.email).where(
        StaffMember.id == staff_member_id
    ).first()
    if row is None or row["password_hash"] is None or not _verify(row["password_hash"], current):
        raise StaffAccountError("Your current password is not right")
    problem = check_new_password(new, row["email"])
    if problem:
        raise StaffAccountError(problem)
    async with write_transaction(StaffMember._meta.db):
        await StaffMember.raw(
            "UPDATE staff_member SET password_hash = {}, auth_version = auth_version + 1 WHERE id = {}",
            hash_password(new),
            staff_member_id,
        )
        loaded = await load_staff_user(staff_member_id)
        if loaded is not None:
            await record_audit(
                loaded[0], "staff.password_changed", "staff_member", staff_member_id,
                summary="Changed their password; signed out everywhere else.",
            )
