"""Administrators' changes to staff accounts (booking/staff_admin.py), on SQLite and PostgreSQL, without HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from booking.staff import StaffUser
from booking.staff_accounts import StaffAccountError, find_staff_link, link_token, load_staff_user
from booking.staff_admin import (
    StaffForm,
    StaffFormInvalid,
    StaffMemberNotFound,
    create_staff,
    deactivate_staff,
    get_staff,
    invite_again,
    reactivate_staff,
    unlock_staff,
    update_staff,
)
from booking.states import StaffRole
from booking.tables import AuditEntry, StaffLink, StaffMember
from tests.builders import make_venue, unique
from tests.web.staff.support import make_staff

SECRET = "test-secret-for-staff-admin"
NOW = datetime(2031, 3, 2, 10, 0, tzinfo=UTC)


async def actor_admin() -> StaffUser:
    member = await make_staff("admin")
    return (await load_staff_user(member.id))[0]


async def audit_of(staff_id: int) -> list[dict]:
    return await AuditEntry.select().where(
        (AuditEntry.subject_type == "staff_member") & (AuditEntry.subject_id == staff_id)
    ).order_by(AuditEntry.id)


async def test_creating_an_account_gives_a_set_password_link_and_an_audit_entry(db):
    admin = await actor_admin()
    venue = await make_venue()
    email = f"{unique('new')}@staff.example.org"
    form = StaffForm(name=" Florence ", role="coordinator", venue_ids=(str(venue.id),), email=f" {email.upper()} ")

    staff_id, link_id = await create_staff(admin, form, now=NOW)

    account = await get_staff(staff_id)
    assert (account.email, account.name, account.role, account.venue_ids) == (
        email, "Florence", StaffRole.COORDINATOR, frozenset({venue.id})
    )
    assert not account.has_password and account.active
    link = await StaffLink.select().where(StaffLink.id == link_id).first()
    state = await find_staff_link(SECRET, link_token(SECRET, link_id, link["nonce"]), now=NOW)
    assert state.usable and state.staff_member_id == staff_id
    [entry] = await audit_of(staff_id)
    assert entry["action"] == "staff_member.created" and entry["staff_member"] == admin.id
    assert json.loads(entry["after"]) == {
        "email": email, "name": "Florence", "role": "coordinator", "venue_ids": [venue.id]
    }


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (StaffForm(name="", role="volunteer", venue_ids=(), email="v@example.org"), "venues"),
        (StaffForm(name="", role="chief", venue_ids=(), email="v@example.org"), "role"),
        (StaffForm(name="", role="admin", venue_ids=(), email="nope"), "email"),
        (StaffForm(name="x" * 201, role="admin", venue_ids=(), email="v@example.org"), "name"),
        (StaffForm(name="", role="volunteer", venue_ids=("2147483647",), email="v@example.org"), "venues"),
        (StaffForm(name="", role="volunteer", venue_ids=("99999999999",), email="v@example.org"), "venues"),
    ],
)
async def test_bad_forms_say_which_field_and_create_nothing(db, form, field):
    admin = await actor_admin()
    before = await StaffMember.count()
    with pytest.raises(StaffFormInvalid) as invalid:
        await create_staff(admin, form, now=NOW)
    assert field in invalid.value.errors
    assert await StaffMember.count() == before


async def test_the_same_email_address_twice_is_refused(db):
    admin = await actor_admin()
    existing = await make_staff("volunteer")
    with pytest.raises(StaffFormInvalid) as invalid:
        await create_staff(admin, StaffForm(name="", role="admin", venue_ids=(), email=existing.email), now=NOW)
    assert invalid.value.errors == {"email": f"There is already a staff account for {existing.email}"}


async def test_changes_record_only_what_changed_and_an_admin_drops_venues(db):
    admin = await actor_admin()
    first, second = await make_venue(), await make_venue()
    member = await make_staff("volunteer", [first], name="Same Name")

    await update_staff(admin, member.id, StaffForm(name="Same Name", role="coordinator",
                                                   venue_ids=(str(first.id), str(second.id))), now=NOW)
    await update_staff(admin, member.id, StaffForm(name="Same Name", role="admin", venue_ids=(str(first.id),)), now=NOW)
    await update_staff(admin, member.id, StaffForm(name="Same Name", role="admin", venue_ids=()), now=NOW)  # no change

    account = await get_staff(member.id)
    assert account.role is StaffRole.ADMIN and account.venue_ids == frozenset()
    entries = await audit_of(member.id)
    assert [e["action"] for e in entries] == ["staff_member.changed", "staff_member.changed"]
    assert json.loads(entries[0]["before"]) == {"role": "volunteer", "venue_ids": [first.id]}
    assert json.loads(entries[0]["after"]) == {"role": "coordinator", "venue_ids": sorted([first.id, second.id])}


async def test_an_admin_keeps_their_own_admin_role_and_account(db):
    admin = await actor_admin()
    with pytest.raises(StaffFormInvalid) as invalid:
        await update_staff(admin, admin.id, StaffForm(name="", role="volunteer", venue_ids=()), now=NOW)
    assert "role" in invalid.value.errors
    with pytest.raises(StaffAccountError):
        await deactivate_staff(admin, admin.id, now=NOW)
    assert (await get_staff(admin.id)).active
    assert await audit_of(admin.id) == []


async def test_deactivating_signs_out_every_browser_and_reactivating_does_not_sign_them_back_in(db):
    admin = await actor_admin()
    member = await make_staff("volunteer")
    _, version = await load_staff_user(member.id)

    await deactivate_staff(admin, member.id, now=NOW)
    assert await load_staff_user(member.id) is None
    await reactivate_staff(admin, member.id, now=NOW)

    _, new_version = await load_staff_user(member.id)
    assert new_version > version  # a browser signed in before the deactivation stays signed out
    assert [e["action"] for e in await audit_of(member.id)] == [
        "staff_member.deactivated", "staff_member.reactivated"
    ]


async def test_invite_again_makes_a_new_link_but_not_for_a_deactivated_account(db):
    admin = await actor_admin()
    member = await make_staff("volunteer")
    link_id = await invite_again(admin, member.id, now=NOW)
    link = await StaffLink.select().where(StaffLink.id == link_id).first()
    assert link["staff_member"] == member.id and link["expires_at"] == NOW + timedelta(days=7)
    await deactivate_staff(admin, member.id, now=NOW)
    with pytest.raises(StaffAccountError):
        await invite_again(admin, member.id, now=NOW)


async def test_unlocking_clears_the_lock(db):
    admin = await actor_admin()
    member = await make_staff("volunteer")
    await StaffMember.update({StaffMember.locked_until: NOW + timedelta(minutes=10), StaffMember.failed_sign_ins: 3}).where(
        StaffMember.id == member.id
    )
    await unlock_staff(admin, member.id, now=NOW)
    row = await StaffMember.select(StaffMember.locked_until, StaffMember.failed_sign_ins).where(
        StaffMember.id == member.id
    ).first()
    assert row == {"locked_until": None, "failed_sign_ins": 0}
    assert (await audit_of(member.id))[-1]["action"] == "staff_member.unlocked"


@pytest.mark.parametrize("staff_id", [0, -1, 2**31, 99999999999, "abc"])
async def test_ids_that_name_nothing_are_not_found(db, staff_id):
    admin = await actor_admin()
    assert await get_staff(staff_id) is None
    with pytest.raises(StaffMemberNotFound):
        await unlock_staff(admin, staff_id, now=NOW)
