"""Partner staff accounts (booking/staff_admin.py): linked to exactly one partner, audited, kept consistent
when the role changes. SQLite and PostgreSQL, without HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from booking.staff import StaffUser
from booking.staff_accounts import StaffAccountError, load_staff_user
from booking.staff_admin import (
    StaffForm,
    StaffFormInvalid,
    create_partner_account,
    create_staff,
    find_partner,
    get_staff,
    partner_choices,
    update_staff,
)
from booking.states import StaffRole
from booking.tables import AuditEntry, Partner, PartnerStaff, StaffMember, StaffVenue
from tests.builders import make_venue, unique
from tests.referral_support import make_partner
from tests.web.staff.support import make_staff

NOW = datetime(2031, 3, 2, 10, 0, tzinfo=UTC)


async def actor_admin() -> StaffUser:
    return (await load_staff_user((await make_staff("admin")).id))[0]


async def links_of(staff_id: int) -> list[int]:
    rows = await PartnerStaff.select(PartnerStaff.partner).where(PartnerStaff.staff_member == staff_id)
    return [row["partner"] for row in rows]


async def audit_of(staff_id: int) -> list[dict]:
    return (
        await AuditEntry.select()
        .where((AuditEntry.subject_type == "staff_member") & (AuditEntry.subject_id == staff_id))
        .order_by(AuditEntry.id)
    )


async def archived_partner() -> Partner:
    partner = await make_partner()
    await Partner.update({Partner.archived: True}).where(Partner.id == partner.id)
    return partner


def partner_form(partner_id: object, **changes) -> StaffForm:
    fields = {"name": "Link Worker", "role": "partner", "venue_ids": (), "email": f"{unique('lw')}@example.org"}
    return StaffForm(**{**fields, "partner_id": str(partner_id), **changes})


async def test_a_partner_account_is_linked_to_its_partner_with_no_venues_and_audited(db):
    admin, partner, venue = await actor_admin(), await make_partner(), await make_venue()
    # Without JavaScript the venue boxes are on the form too: a partner account ignores them.
    staff_id, _ = await create_staff(admin, partner_form(partner.id, venue_ids=(str(venue.id),)), now=NOW)

    account = await get_staff(staff_id)
    assert (account.role, account.partner_id, account.partner_name) == (StaffRole.PARTNER, partner.id, partner.name)
    assert account.venue_ids == frozenset() and await links_of(staff_id) == [partner.id]
    [entry] = await audit_of(staff_id)
    assert entry["action"] == "staff_member.created"
    assert json.loads(entry["after"])["partner_id"] == partner.id


@pytest.mark.parametrize("which", ["missing", "unknown", "archived", "not a number"])
async def test_a_partner_account_needs_a_live_partner_from_the_list(db, which):
    admin = await actor_admin()
    partner_id = {"missing": "", "unknown": "2147483647", "not a number": "abc"}.get(which)
    if which == "archived":
        partner_id = (await archived_partner()).id
    before = (await StaffMember.count(), await PartnerStaff.count())
    with pytest.raises(StaffFormInvalid) as invalid:
        await create_staff(admin, partner_form(partner_id), now=NOW)
    assert list(invalid.value.errors) == ["partner"]
    assert (await StaffMember.count(), await PartnerStaff.count()) == before


async def test_other_roles_never_get_a_partner(db):
    admin, partner, venue = await actor_admin(), await make_partner(), await make_venue()
    form = partner_form(partner.id, role="volunteer", venue_ids=(str(venue.id),))
    staff_id, _ = await create_staff(admin, form, now=NOW)
    assert await links_of(staff_id) == [] and (await get_staff(staff_id)).partner_id is None


async def test_changing_role_to_and_from_partner_keeps_exactly_one_link_or_none(db):
    admin, first, second, venue = await actor_admin(), await make_partner(), await make_partner(), await make_venue()
    member = await make_staff("volunteer", [venue], name="Moving")

    await update_staff(admin, member.id, partner_form(first.id, name="Moving"), now=NOW)
    assert await links_of(member.id) == [first.id]
    assert await StaffVenue.count().where(StaffVenue.staff_member == member.id) == 0
    await update_staff(admin, member.id, partner_form(second.id, name="Moving"), now=NOW)
    assert await links_of(member.id) == [second.id]
    back = partner_form(second.id, name="Moving", role="coordinator", venue_ids=(str(venue.id),))
    await update_staff(admin, member.id, back, now=NOW)
    assert await links_of(member.id) == []
    assert (await get_staff(member.id)).venue_ids == frozenset({venue.id})

    entries = [(json.loads(e["before"]), json.loads(e["after"])) for e in await audit_of(member.id)]
    assert entries == [
        (
            {"role": "volunteer", "venue_ids": [venue.id], "partner_id": None},
            {"role": "partner", "venue_ids": [], "partner_id": first.id},
        ),
        ({"partner_id": first.id}, {"partner_id": second.id}),
        (
            {"role": "partner", "venue_ids": [], "partner_id": second.id},
            {"role": "coordinator", "venue_ids": [venue.id], "partner_id": None},
        ),
    ]


async def test_an_account_keeps_its_partner_after_the_partner_is_archived(db):
    admin, partner = await actor_admin(), await make_partner()
    staff_id, _ = await create_staff(admin, partner_form(partner.id), now=NOW)
    await Partner.update({Partner.archived: True}).where(Partner.id == partner.id)

    assert partner.id in [row["id"] for row in await partner_choices(partner.id)]
    assert partner.id not in [row["id"] for row in await partner_choices()]
    await update_staff(admin, staff_id, partner_form(partner.id, name="Renamed"), now=NOW)
    assert (await get_staff(staff_id)).name == "Renamed" and await links_of(staff_id) == [partner.id]


async def test_find_partner_by_id_or_exact_name_only_among_live_partners(db):
    partner, gone = await make_partner(unique("Walsall Wellbeing")), await archived_partner()
    assert await find_partner(str(partner.id)) == partner.id
    assert await find_partner(f"  {partner.name} ") == partner.id
    for reference in (partner.name.upper(), gone.name, str(gone.id), ""):
        with pytest.raises(StaffAccountError):
            await find_partner(reference)
    twin = unique("Twin Trust")
    await make_partner(twin)
    await make_partner(twin)
    with pytest.raises(StaffAccountError, match="give its id"):
        await find_partner(twin)


async def test_create_partner_account_links_it_and_refuses_a_taken_address(db):
    partner = await make_partner()
    email = f"{unique('cli')}@example.org"
    staff_id, _ = await create_partner_account(email, partner.name, name="Cli Worker", now=NOW)
    assert (await get_staff(staff_id)).partner_id == partner.id
    with pytest.raises(StaffAccountError, match="already a staff account"):
        await create_partner_account(email, partner.name, now=NOW)
    assert await StaffMember.count().where(StaffMember.email == email) == 1
