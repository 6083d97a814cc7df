"""Administrators look after staff accounts: create, change role and venues, deactivate, re-invite, unlock.

Every change is recorded in the audit log in the same transaction. An administrator cannot take away
their own admin role or deactivate themselves, so there is always someone who can put things right.
Coordinators and volunteers work at venues; a partner account works for exactly one partner
organisation (``PartnerStaff``) and at no venue; an admin needs neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from booking.audit import changed_fields, record_audit
from booking.referrals import link_partner_staff, unlink_partner_staff
from booking.staff import StaffUser
from booking.staff_accounts import (
    MAX_ROW_ID,
    StaffAccountError,
    check_email,
    new_set_password_link,
    normalise_email,
)
from booking.states import StaffRole
from booking.tables import Partner, PartnerStaff, StaffMember, StaffVenue, Venue
from booking.validation import is_digits
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction

SUBJECT = "staff_member"
MAX_NAME_LENGTH = 200
VENUE_ROLES = frozenset({StaffRole.COORDINATOR, StaffRole.VOLUNTEER})  #: the roles that work at venues


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
    partner_id: str = ""  #: only read for the role ``partner``


@dataclass(frozen=True)
class CheckedForm:
    """What ``problems`` made of a form: use the rest only when ``errors`` is empty."""

    errors: dict[str, str]
    role: StaffRole | None
    venue_ids: frozenset[int]  #: empty unless the role works at venues
    partner_id: int | None  #: set only for the role ``partner``


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
    partner_id: int | None = None  #: the partner a partner account works for
    partner_name: str = ""

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _row_id(raw: object) -> int | None:
    text = str(raw or "").strip()
    if not is_digits(text) or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


async def problems(form: StaffForm, *, new: bool, current_partner_id: int | None = None) -> CheckedForm:
    """Check a form. The partner must be a live one, or the one the account already works for."""
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
    if role in VENUE_ROLES and not venue_ids and "venues" not in errors:
        errors["venues"] = f"Select the venues a {role.value} works at"
    partner_id = None
    if role is StaffRole.PARTNER:
        partner_id = _row_id(form.partner_id)
        if not str(form.partner_id or "").strip():
            errors["partner"] = "Select the partner organisation they work for"
        elif partner_id is None or not await _may_link(partner_id, current_partner_id):
            errors["partner"] = "Select a partner organisation from the list"
    return CheckedForm(errors, role, venue_ids if role in VENUE_ROLES else frozenset(), partner_id)


async def _may_link(partner_id: int, current_partner_id: int | None) -> bool:
    if partner_id == current_partner_id:
        return True  # kept even if the partner has since been archived
    return await Partner.exists().where((Partner.id == partner_id) & Partner.archived.eq(False))


async def find_partner(reference: str) -> int:
    """A live partner by id or exact name (``commons staff create --partner``); ``StaffAccountError`` if none."""
    text = str(reference or "").strip()
    if not text:
        raise StaffAccountError("A partner account works for a partner organisation: give --partner")
    live = Partner.archived.eq(False)
    row_id = _row_id(text)
    if row_id is not None and await Partner.exists().where((Partner.id == row_id) & live):
        return row_id
    rows = await Partner.select(Partner.id).where((Partner.name == text) & live)
    if len(rows) > 1:
        raise StaffAccountError(f"More than one partner is called {text!r}: give its id instead")
    if not rows:
        raise StaffAccountError(f"There is no partner with the id or name {text!r}")
    return rows[0]["id"]


async def list_staff() -> list[StaffAccount]:
    """Every account, active first, then by name and e-mail address."""
    rows = await StaffMember.select().order_by(StaffMember.active, ascending=False).order_by(
        StaffMember.name
    ).order_by(StaffMember.email)
    ids = [row["id"] for row in rows]
    venues, partners = await _venues_of(ids), await _partners_of(ids)
    return [_account(row, venues.get(row["id"], []), partners.get(row["id"])) for row in rows]


async def get_staff(staff_id: object) -> StaffAccount | None:
    row_id = _row_id(staff_id)
    if row_id is None:
        return None
    row = await StaffMember.select().where(StaffMember.id == row_id).first()
    if row is None:
        return None
    return _account(row, (await _venues_of([row_id])).get(row_id, []), (await _partners_of([row_id])).get(row_id))


async def venue_choices() -> list[dict]:
    """The venues an account can be given: open ones by name."""
    return await Venue.select(Venue.id, Venue.name).where(Venue.archived.eq(False)).order_by(Venue.name)


async def partner_choices(current_partner_id: int | None = None) -> list[dict]:
    """The partners an account can work for: live ones by name, and the one it already works for."""
    live = Partner.archived.eq(False)
    where = live if current_partner_id is None else live | (Partner.id == current_partner_id)
    return await Partner.select(Partner.id, Partner.name).where(where).order_by(Partner.name).order_by(Partner.id)


async def _partners_of(staff_ids: list[int]) -> dict[int, tuple[int, str]]:
    if not staff_ids:
        return {}
    rows = await PartnerStaff.select(
        PartnerStaff.staff_member, PartnerStaff.partner, PartnerStaff.partner.name.as_alias("partner_name")
    ).where(PartnerStaff.staff_member.is_in(staff_ids))
    return {row["staff_member"]: (row["partner"], row["partner_name"]) for row in rows}


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


def _account(row: dict, venues: list[tuple[int, str]], partner: tuple[int, str] | None) -> StaffAccount:
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
        partner_id=partner[0] if partner else None,
        partner_name=partner[1] if partner else "",
    )


def _audit_fields(
    name: str, role: StaffRole, venue_ids: Iterable[int], partner_id: int | None = None, *, with_partner: bool = False
) -> dict:
    fields = {"name": name, "role": role.value, "venue_ids": sorted(venue_ids)}
    if with_partner or partner_id is not None:
        fields["partner_id"] = partner_id
    return fields


async def create_staff(actor: StaffUser, form: StaffForm, *, now: datetime) -> tuple[int, int]:
    """A new account with no password and a set-password link: ``(staff_member_id, link_id)``."""
    checked = await problems(form, new=True)
    if checked.errors:
        raise StaffFormInvalid(checked.errors)
    assert checked.role is not None
    email, name, role = normalise_email(form.email), form.name.strip(), checked.role
    async with write_transaction(StaffMember._meta.db):
        member_id, link_id = await _insert_account(email, name, role, checked.venue_ids, checked.partner_id, now)
        await record_audit(
            actor, "staff_member.created", SUBJECT, member_id,
            summary=f"Created a {role.value} account for {email}",
            after={"email": email, **_audit_fields(name, role, checked.venue_ids, checked.partner_id)}, now=now,
        )
    return member_id, link_id


async def create_partner_account(email: str, partner: str, *, name: str = "", now: datetime) -> tuple[int, int]:
    """``commons staff create --role partner``: a partner account (by id or exact name), not audited as
    no one is signed in; ``(staff_member_id, link_id)``, or ``StaffAccountError``."""
    email = normalise_email(email)
    problem = check_email(email)
    if problem:
        raise StaffAccountError(problem)
    async with write_transaction(StaffMember._meta.db):
        partner_id = await find_partner(partner)
        return await _insert_account(email, name.strip(), StaffRole.PARTNER, frozenset(), partner_id, now)


async def _insert_account(
    email: str, name: str, role: StaffRole, venue_ids: frozenset[int], partner_id: int | None, now: datetime
) -> tuple[int, int]:
    """The account, its venues or partner, and a set-password link, inside the caller's transaction."""
    taken = {"email": f"There is already a staff account for {email}"}
    if await StaffMember.exists().where(StaffMember.email == email):
        raise StaffFormInvalid(taken)
    member = StaffMember(email=email, name=name, role=role.value, created_at=now)
    try:
        await member.save()
    except UNIQUE_VIOLATION_ERRORS as error:
        raise StaffFormInvalid(taken) from error
    for venue_id in sorted(venue_ids):
        await StaffVenue(staff_member=member.id, venue=venue_id).save()
    if partner_id is not None:
        await link_partner_staff(member.id, partner_id)
    return member.id, await new_set_password_link(member.id, now=now)


async def update_staff(actor: StaffUser, staff_id: int, form: StaffForm, *, now: datetime) -> None:
    """Change an account's name, role, venues and partner. An administrator keeps their own admin role.

    A partner account always has exactly one partner and no venues; any other role has no partner.
    """
    account = await _existing(staff_id)
    checked = await problems(form, new=False, current_partner_id=account.partner_id)
    errors, role, venue_ids, partner_id = checked.errors, checked.role, checked.venue_ids, checked.partner_id
    if role is not None and account.id == actor.id and role is not StaffRole.ADMIN:
        errors["role"] = "You cannot take away your own admin role. Ask another administrator."
    if errors:
        raise StaffFormInvalid(errors)
    assert role is not None
    name = form.name.strip()
    with_partner = account.partner_id is not None or partner_id is not None
    before, after = changed_fields(
        _audit_fields(account.name, account.role, account.venue_ids, account.partner_id, with_partner=with_partner),
        _audit_fields(name, role, venue_ids, partner_id, with_partner=with_partner),
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
        if partner_id is None and account.partner_id is not None:
            await unlink_partner_staff(account.id)
        elif partner_id != account.partner_id:
            await link_partner_staff(account.id, partner_id)
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
