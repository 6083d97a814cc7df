"""Partner staff in the console: admins add and change them on the staff accounts form, they land on their
referrals after signing in, and the navigation shows them Referrals; the reports page links the referral figures."""

from __future__ import annotations

import re

from booking.tables import PartnerStaff, StaffMember
from tests.referral_support import make_link_worker_account, make_partner
from tests.web.staff.support import post_form, sign_in, staff_csrf

NAV_REFERRALS = '<a href="/staff/referrals"'
ROLE_CHOSEN = re.compile(r'name="role" value="(\w+)"[^>]*\schecked>')


async def links_of(staff_id: int) -> list[int]:
    rows = await PartnerStaff.select(PartnerStaff.partner).where(PartnerStaff.staff_member == staff_id)
    return [row["partner"] for row in rows]


async def test_the_form_offers_live_partners_with_a_label_and_hint(as_admin):
    partner = await make_partner("Rugeley Link Workers")
    page = await as_admin.get("/staff/people/new")
    assert page.status_code == 200
    assert '<label class="label" for="partner">Partner organisation</label>' in page.text
    assert "Only for partner staff" in page.text
    assert f'<option value="{partner.id}">Rugeley Link Workers</option>' in page.text
    assert 'value="partner"' in page.text  # the role itself


async def test_a_partner_account_without_a_partner_is_422_with_the_input_kept(as_admin):
    email = f"lw.{id(as_admin)}@staff.example.org"
    response = await post_form(
        as_admin,
        "/staff/people/new",
        {"email": email, "name": "Kept Worker", "role": "partner"},
        page="/staff/people/new",
    )
    assert response.status_code == 422
    assert '<a href="#partner">Select the partner organisation they work for</a>' in response.text
    assert 'id="partner-error"' in response.text and 'value="Kept Worker"' in response.text
    assert ROLE_CHOSEN.search(response.text).group(1) == "partner"
    assert not await StaffMember.exists().where(StaffMember.email == email)


async def test_an_admin_adds_a_partner_account_and_sees_its_partner_in_the_list(as_admin):
    partner = await make_partner("Burntwood Connect")
    email = f"worker.{partner.id}@staff.example.org"
    created = await post_form(
        as_admin,
        "/staff/people/new",
        {"email": email, "name": "Lin Worker", "role": "partner", "partner": str(partner.id)},
        page="/staff/people/new",
    )
    assert created.status_code == 303
    member = await StaffMember.select().where(StaffMember.email == email).first()
    assert member["role"] == "partner" and await links_of(member["id"]) == [partner.id]
    listing = await as_admin.get("/staff/people")
    row = listing.text.split(f'<td class="people-email">{email}</td>')[1].split("</tr>")[0]
    assert "Partner" in row and "Burntwood Connect" in row
    edit = await as_admin.get(f"/staff/people/{member['id']}/edit")
    assert f'<option value="{partner.id}" selected>Burntwood Connect</option>' in edit.text


async def test_changing_a_partner_account_to_a_volunteer_drops_the_link(as_admin, own_venue):
    member = await make_link_worker_account()
    response = await post_form(
        as_admin,
        f"/staff/people/{member.id}/edit",
        {"name": "Now Volunteering", "role": "volunteer", "venues": [str(own_venue.id)], "partner": ""},
        page=f"/staff/people/{member.id}/edit",
    )
    assert response.status_code == 303
    assert await links_of(member.id) == []


async def test_a_partner_lands_on_their_referrals_after_signing_in(staff_client, db):
    response = await sign_in(staff_client, await make_link_worker_account())
    assert response.headers["location"] == "/staff/referrals"
    assert (await staff_client.get("/staff/referrals")).status_code == 200
    home = await staff_client.get("/staff")  # the dashboard is for venue staff: a partner is sent on
    assert home.status_code == 303 and home.headers["location"] == "/staff/referrals"


async def test_a_partner_still_goes_to_the_safe_page_they_asked_for(staff_client, db):
    member = await make_link_worker_account()
    token = await staff_csrf(staff_client)
    response = await staff_client.post(
        "/staff/sign-in",
        data={
            "email": member.email,
            "password": "correct horse battery staple",
            "next": "/staff/referrals/new",
            "_csrf_token": token,
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/staff/referrals/new"


async def test_other_staff_still_land_on_the_dashboard(staff_client, coordinator):
    assert (await sign_in(staff_client, coordinator)).headers["location"] == "/staff"


async def test_only_partner_staff_see_referrals_in_the_navigation(staff_client, db):
    await sign_in(staff_client, await make_link_worker_account())
    page = await staff_client.get("/staff/account")
    assert NAV_REFERRALS in page.text and '<a href="/staff"' not in page.text  # no dashboard for them


async def test_admins_hold_every_permission_but_see_no_referrals_item(as_admin):
    # Their referral pages say the account is not linked to a partner: no use in the navigation.
    page = await as_admin.get("/staff/account")
    assert page.status_code == 200 and NAV_REFERRALS not in page.text


async def test_the_reports_page_links_the_referral_figures(as_coordinator):
    page = await as_coordinator.get("/staff/reports")
    assert page.status_code == 200 and '<a href="/staff/referrals/report">' in page.text
    assert (await as_coordinator.get("/staff/referrals/report")).status_code == 200
