"""Administrators look after staff accounts: create, change role and venues, deactivate, re-invite, unlock.

Every change is recorded in the audit log in the same transaction. An administrator cannot take away
their own admin role or deactivate themselves, so there is always someone who can put things right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from booking.audit import changed_fields, record_audit
from booking.staff import StaffUser
from booking.staff_accounts import (
    MAX_ROW_ID,
    StaffAccountError,
    check_email,
    new_set_password_link,
    normalise_email,
)
from booking.states import StaffRole
from booking.tables import StaffMember, StaffVenue, Venue
from booking.validation import is_digits
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction

SUBJECT = "staff_member"
MAX_NAME_LENGTH = 200


class StaffFormInvalid(StaffAccountError):
    """What is wrong with a staff account form, by field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())))
        self.errors = errors


class StaffMemberNotFound(StaffAccountError):
    def __init__(self) -> None:
        super().__init__("There is no such staff account.")


@dataclass(frozen=True)
class StaffForm:
    """What an administrator typed: checked by ``problems``, not yet trusted."""

    name: str
    role: str
    venue_ids: tuple[str, ...]
    email: str = ""


@dataclass(frozen=True)
class StaffAccount:
    """One staff account as the administrators' pages show it."""

    id: int
    email: str
    name: str
    role: StaffRole
    venue_ids: frozenset[int]
    venue_names: tuple[str, ...]
    active: bool
    has_password: bool
    locked_until: datetime | None
    last_sign_in_at: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _row_id(raw: object) -> int | None:
    text = str(raw or "").strip()
    if not is_digits(text) or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


async def problems(form: StaffForm, *, new: bool) -> tuple[dict[str, str], StaffRole | None, frozenset[int]]:
    """``(errors by field, role, venue ids)``: the role and venues are only to be used when there are no errors."""
    errors: dict[str, str] = {}
    if new:
        problem = check_email(normalise_email(form.email))
        if problem:
            errors["email"] = problem
    if len(form.name.strip()) > MAX_NAME_LENGTH:
        errors["name"] = f"Name must be {MAX_NAME_LENGTH} characters or fewer"
    role = next((r for r in StaffRole if r.value == form.role), None)
    if role is None:
        errors["role"] = "Select a role"
    ids = {_row_id(raw) for raw in form.venue_ids}
    venue_ids: frozenset[int] = frozenset()
    if None in ids:
        errors["venues"] = "Select venues from the list"
    elif ids:
        found = await Venue.select(Venue.id).where(Venue.id.is_in(list(ids)))
        venue_ids = frozenset(row["id"] for row in found)
        if len(venue_ids) != len(ids):
            errors["venues"] = "Select venues from the list"
    if role is not None and role is not StaffRole.ADMIN and not venue_ids and "venues" not in errors:
        errors["venues"] = f"Select the venues a {role.value} works at"
    return errors, role, venue_ids


async def list_staff() -> list[StaffAccount]:
    """Every account, active first, then by name and e-mail address."""
    rows = await StaffMember.select().order_by(StaffMember.active, ascending=False).order_by(
        StaffMember.name
    ).order_by(StaffMember.email)
    venues = await _venues_of([row["id"] for row in rows])
    return [_account(row, venues.get(row["id"], [])) for row in rows]


async def get_staff(staff_id: object) -> StaffAccount | None:
    row_id = _row_id(staff_id)
    if row_id is None:
        return None
    row = await StaffMember.select().where(StaffMember.id == row_id).first()
    if row is None:
        return None
    return _account(row, (await _venues_of([row_id])).get(row_id, []))


async def venue_choices() -> list[dict]:
    """The venues an account can be given: open ones by name."""
    return await Venue.select(Venue.id, Venue.name).where(Venue.archived.eq(False)).order_by(Venue.name)


async def _venues_of(staff_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    staff_ids = list(staff_ids)
    if not staff_ids:
        return {}
    rows = await StaffVenue.select(
        StaffVenue.staff_member, StaffVenue.venue, StaffVenue.venue.name.as_alias("venue_name")
    ).where(StaffVenue.staff_member.is_in(staff_ids)).order_by(StaffVenue.venue.name)
    venues: dict[int, list[tuple[int, str]]] = {}
    for row in rows:
        venues.setdefault(row["staff_member"], []).append((row["venue"], row["venue_name"]))
    return venues


def _account(row: dict, venues: list[tuple[int, str]]) -> StaffAccount:
    return StaffAccount(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=StaffRole(row["role"]),
        venue_ids=frozenset(venue_id for venue_id, _ in venues),
        venue_names=tuple(name for _, name in venues),
        active=row["active"],
        has_password=row["password_hash"] is not None,
        locked_until=row["locked_until"],
        last_sign_in_at=row["last_sign_in_at"],
    )


def _audit_fields(name: str, role: StaffRole, venue_ids: Iterable[int]) -> dict:
    return {"name": name, "role": role.value, "venue_ids": sorted(venue_ids)}


async def create_staff(actor: StaffUser, form: StaffForm, *, now: datetime) -> tuple[int, int]:
    """A new account with no password and a set-password link: ``(staff_member_id, link_id)``."""
    errors, role, venue_ids = await problems(form, new=True)
    if errors:
        raise StaffFormInvalid(errors)
    assert role is not None
    email, name = normalise_email(form.email), form.name.strip()
    venue_ids = frozenset() if role is StaffRole.ADMIN else venue_ids
    taken = {"email": f"There is already a staff account for {email}"}
    async with write_transaction(StaffMember._meta.db):
        if await StaffMember.exists().where(StaffMember.email == email):
            raise StaffFormInvalid(taken)
        member = StaffMember(email=email, name=name, role=role.value, created_at=now)
        try:
            await member.save()
        except UNIQUE_VIOLATION_ERRORS as error:
            raise StaffFormInvalid(taken) from error
        for venue_id in sorted(venue_ids):
            await StaffVenue(staff_member=member.id, venue=venue_id).save()
        link_id = await new_set_password_link(member.id, now=now)
        await record_audit(
            actor, "staff_member.created", SUBJECT, member.id,
            summary=f"Created a {role.value} account for {email}",
            after={"email": email, **_audit_fields(name, role, venue_ids)}, now=now,
        )
    return member.id, link_id


async def update_staff(actor: StaffUser, staff_id: int, form: StaffForm, *, now: datetime) -> None:
    """Change an account's name, role and venues. An administrator keeps their own admin role."""
    account = await _existing(staff_id)
    errors, role, venue_ids = await problems(form, new=False)
    if role is not None and account.id == actor.id and role is not StaffRole.ADMIN:
        errors["role"] = "You cannot take away your own admin role. Ask another administrator."
    if errors:
        raise StaffFormInvalid(errors)
    assert role is not None
    name = form.name.strip()
    venue_ids = frozenset() if role is StaffRole.ADMIN else venue_ids
    before, after = changed_fields(
        _audit_fields(account.name, account.role, account.venue_ids), _audit_fields(name, role, venue_ids)
    )
    if not after:
        return
    async with write_transaction(StaffMember._meta.db):
        await StaffMember.update({StaffMember.name: name, StaffMember.role: role.value}).where(
            StaffMember.id == account.id
        )
        if venue_ids != account.venue_ids:
            await StaffVenue.delete().where(StaffVenue.staff_member == account.id)
            for venue_id in sorted(venue_ids):
                await StaffVenue(staff_member=account.id, venue=venue_id).save()
        await record_audit(
            actor, "staff_member.changed", SUBJECT, account.id,
            summary=f"Changed {', '.join(after).replace('_', ' ')} for {account.email}",
            before=before, after=after, now=now,
        )


async def deactivate_staff(actor: StaffUser, staff_id: int, *, now: datetime) -> None:
    """No more signing in; every browser signed in as them is signed out at its next request."""
    account = await _existing(staff_id)
    if account.id == actor.id:
        raise StaffAccountError("You cannot deactivate your own account. Ask another administrator.")
    if not account.active:
        return
    async with write_transaction(StaffMember._meta.db):
        await StaffMember.raw(
            "UPDATE staff_member SET active = {}, auth_version = auth_version + 1 WHERE id = {}", False, account.id
        )
        await record_audit(
            actor, "staff_member.deactivated", SUBJECT, account.id, summary=f"Deactivated {account.email}",
            before={"active": True}, after={"active": False}, now=now,
        )


async def reactivate_staff(actor: StaffUser, staff_id: int, *, now: datetime) -> None:
    account = await _existing(staff_id)
    if account.active:
        return
    async with write_transaction(StaffMember._meta.db):
        await StaffMember.update({StaffMember.active: True, StaffMember.failed_sign_ins: 0}).where(
            StaffMember.id == account.id
        )
        await record_audit(
            actor, "staff_member.reactivated", SUBJECT, account.id, summary=f"Reactivated {account.email}",
            before={"active": False}, after={"active": True}, now=now,
        )


async def invite_again(actor: StaffUser, staff_id: int, *, now: datetime) -> int:
    """A new link to set a password (the old ones still work until used or expired); its id."""
    account = await _existing(staff_id)
    if not account.active:
        raise StaffAccountError("This account is deactivated. Reactivate it before sending a new link.")
    async with write_transaction(StaffMember._meta.db):
        link_id = await new_set_password_link(account.id, now=now)
        await record_audit(
            actor, "staff_member.invited_again", SUBJECT, account.id,
            summary=f"Made a new set-password link for {account.email}", now=now,
        )
    return link_id


async def unlock_staff(actor: StaffUser, staff_id: int, *, now: datetime) -> None:
    """Lift a lock after too many wrong passwords, before it runs out by itself."""
    account = await _existing(staff_id)
    async with write_transaction(StaffMember._meta.db):
        await StaffMember.update({StaffMember.locked_until: None, StaffMember.failed_sign_ins: 0}).where(
            StaffMember.id == account.id
        )
        await record_audit(
            actor, "staff_member.unlocked", SUBJECT, account.id, summary=f"Unlocked {account.email}",
            before={"locked_until": account.locked_until}, after={"locked_until": None}, now=now,
        )


async def _existing(staff_id: object) -> StaffAccount:
    account = await get_staff(staff_id)
    if account is None:
        raise StaffMemberNotFound()
    return account
