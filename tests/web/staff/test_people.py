"""Staff accounts pages: admins only; a new account's link shown once; changes, deactivating, unlocking."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from booking.tables import AuditEntry, StaffMember
from tests.web.conftest import browser, web_settings
from tests.web.staff.support import PASSWORD, make_staff, post_form, sign_in, staff_csrf

LINK = re.compile(r'value="(http[^"]+/staff/password/[^"]+)"')


async def test_only_admins_see_staff_accounts(as_coordinator):
    assert (await as_coordinator.get("/staff/people")).status_code == 403
    assert (await as_coordinator.get("/staff/people/new")).status_code == 403


async def test_volunteers_cannot_post_to_staff_accounts(as_volunteer, volunteer):
    response = await post_form(as_volunteer, f"/staff/people/{volunteer.id}/edit", {"role": "admin", "name": "Me"})
    assert response.status_code == 403
    assert (await StaffMember.select(StaffMember.role).where(StaffMember.id == volunteer.id).first())["role"] == "volunteer"


async def test_the_list_shows_each_account_with_role_venues_and_state(as_admin, coordinator, own_venue):
    locked = await make_staff("volunteer", [own_venue], name="Locked Out")
    await StaffMember.update({StaffMember.locked_until: datetime.now(UTC) + timedelta(minutes=10)}).where(
        StaffMember.id == locked.id
    )
    page = await as_admin.get("/staff/people")
    assert page.status_code == 200
    assert coordinator.email in page.text and "Our Library" in page.text
    row = page.text.split(f'<td class="people-email">{locked.email}</td>')[1].split("</tr>")[0]
    assert "Locked" in row and "Never" in row
    assert page.text.count("<h1") == 1 and 'scope="col"' in page.text


async def test_a_new_account_shows_its_link_once_and_the_link_works(as_admin, admin, own_venue):
    email = f"new.{own_venue.id}@staff.example.org"
    token = await staff_csrf(as_admin, "/staff/people/new")
    created = await as_admin.post(
        "/staff/people/new",
        data={"email": email.upper(), "name": "New Person", "role": "volunteer", "venues": [str(own_venue.id)],
              "_csrf_token": token},
    )
    assert created.status_code == 303
    member = await StaffMember.select().where(StaffMember.email == email).first()
    assert member["role"] == "volunteer" and member["password_hash"] is None
    shown = await as_admin.get(created.headers["location"])
    url = LINK.search(shown.text).group(1)
    again = await as_admin.get(created.headers["location"])
    assert again.status_code == 200 and "/staff/password/" not in again.text
    audit = await AuditEntry.select().where(
        (AuditEntry.subject_type == "staff_member") & (AuditEntry.subject_id == member["id"])
    ).first()
    assert audit["action"] == "staff_member.created" and audit["staff_member"] == admin.id

    path = "/staff/" + url.split("/staff/", 1)[1]
    csrf = await staff_csrf(as_admin, path)
    saved = await as_admin.post(path, data={"password": "a long new password", "confirm": "a long new password",
                                            "_csrf_token": csrf})
    assert saved.status_code == 303


async def test_bad_new_account_input_is_422_with_messages_and_input_kept(as_admin, other_venue):
    response = await post_form(
        as_admin, "/staff/people/new", {"email": "not-an-address", "name": "Kept Name", "role": "coordinator"},
        page="/staff/people/new",
    )
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert "Enter an email address in the correct format" in response.text
    assert "Select the venues a coordinator works at" in response.text
    assert 'value="Kept Name"' in response.text and 'value="not-an-address"' in response.text


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"email": "x@example.org", "role": "owner"},
        {"email": "x@example.org", "role": "volunteer", "venues": ["99999999999"]},
        {"email": "x@example.org", "role": "volunteer", "venues": ["abc"]},
        {"email": "x@example.org", "role": "volunteer", "venues": ["2147483000"]},
    ],
)
async def test_nonsense_is_a_422_never_a_500(as_admin, data):
    response = await post_form(as_admin, "/staff/people/new", data, page="/staff/people/new")
    assert response.status_code == 422


async def test_an_existing_email_address_is_refused(as_admin, coordinator):
    response = await post_form(
        as_admin, "/staff/people/new", {"email": coordinator.email, "role": "admin"}, page="/staff/people/new"
    )
    assert response.status_code == 422 and "There is already a staff account" in response.text


async def test_empty_posts_to_every_route_are_never_a_500(as_admin, coordinator):
    for action in ("edit", "deactivate", "reactivate", "unlock", "invite-again"):
        response = await post_form(as_admin, f"/staff/people/{coordinator.id}/{action}", page="/staff/people")
        assert response.status_code in (303, 422), (action, response.status_code)
    for missing in ("99999999999", "2147483000"):
        response = await post_form(as_admin, f"/staff/people/{missing}/deactivate", page="/staff/people")
        assert response.status_code == 404
        assert (await as_admin.get(f"/staff/people/{missing}/edit")).status_code == 404


async def test_changing_role_and_venues_is_audited_and_applies_at_once(
    as_admin, coordinator, own_venue, other_venue, db, data_dir
):
    async with browser(web_settings(db, data_dir)) as theirs:
        await sign_in(theirs, coordinator)
        assert (await theirs.get("/staff/account")).status_code == 200
        response = await post_form(
            as_admin, f"/staff/people/{coordinator.id}/edit",
            {"name": "Renamed", "role": "volunteer", "venues": [str(other_venue.id)]},
            page=f"/staff/people/{coordinator.id}/edit",
        )
        assert response.status_code == 303
        account = await theirs.get("/staff/account")
        assert "Volunteer" in account.text and "Another Library" in account.text
    entry = await AuditEntry.select().where(
        (AuditEntry.subject_id == coordinator.id) & (AuditEntry.action == "staff_member.changed")
    ).first()
    assert '"role": "coordinator"' in entry["before"] and '"role": "volunteer"' in entry["after"]


async def test_an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(as_admin, admin):
    edit = await post_form(as_admin, f"/staff/people/{admin.id}/edit", {"role": "volunteer"}, page="/staff/people")
    assert edit.status_code == 422 and "You cannot take away your own admin role" in edit.text
    off = await post_form(as_admin, f"/staff/people/{admin.id}/deactivate", page="/staff/people")
    assert off.status_code == 422 and "You cannot deactivate your own account" in off.text
    row = await StaffMember.select(StaffMember.role, StaffMember.active).where(StaffMember.id == admin.id).first()
    assert row == {"role": "admin", "active": True}


async def test_deactivating_signs_them_out_and_reactivating_lets_them_back(as_admin, volunteer, db, data_dir):
    async with browser(web_settings(db, data_dir)) as theirs:
        await sign_in(theirs, volunteer)
        off = await post_form(as_admin, f"/staff/people/{volunteer.id}/deactivate", page="/staff/people")
        assert off.status_code == 303
        assert (await theirs.get("/staff/account")).status_code == 303  # sent to sign in
        refused = await theirs.post(
            "/staff/sign-in",
            data={"email": volunteer.email, "password": PASSWORD, "_csrf_token": await staff_csrf(theirs)},
        )
        assert refused.status_code == 422
        on = await post_form(as_admin, f"/staff/people/{volunteer.id}/reactivate", page="/staff/people")
        assert on.status_code == 303
        await sign_in(theirs, volunteer)
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action).where(
        (AuditEntry.subject_type == "staff_member") & (AuditEntry.subject_id == volunteer.id)
    ).order_by(AuditEntry.id)]
    # Their own sign-ins are in the log too; the administrator's two changes came in this order.
    assert [action for action in actions if action.startswith("staff_member.")][-2:] == [
        "staff_member.deactivated", "staff_member.reactivated"
    ]
    assert actions[-1] == "staff.signed_in"  # signed in again after being let back


async def test_unlock_lets_a_locked_account_sign_in(as_admin, volunteer, db, data_dir):
    await StaffMember.update({StaffMember.locked_until: datetime.now(UTC) + timedelta(minutes=10)}).where(
        StaffMember.id == volunteer.id
    )
    page = await as_admin.get(f"/staff/people/{volunteer.id}/edit")
    assert "Unlock the account" in page.text
    response = await post_form(as_admin, f"/staff/people/{volunteer.id}/unlock", page="/staff/people")
    assert response.status_code == 303
    async with browser(web_settings(db, data_dir)) as theirs:
        await sign_in(theirs, volunteer)


async def test_invite_again_shows_a_new_link_once(as_admin, volunteer):
    response = await post_form(as_admin, f"/staff/people/{volunteer.id}/invite-again", page="/staff/people")
    assert response.status_code == 303
    page = await as_admin.get(response.headers["location"])
    assert LINK.search(page.text)
    assert await AuditEntry.exists().where(
        (AuditEntry.subject_id == volunteer.id) & (AuditEntry.action == "staff_member.invited_again")
    )
