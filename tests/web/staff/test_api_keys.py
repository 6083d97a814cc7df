"""API key pages: partner staff make a key (its secret shown once), see their organisation's keys, revoke one."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from booking.partner_api_keys import authenticate, create_api_key
from booking.tables import AuditEntry, PartnerApiKey
from tests.referral_support import make_link_worker, make_link_worker_account, make_partner
from tests.web.staff.support import make_staff, post_form, sign_in

PAGE = "/staff/referrals/api-keys"
SECRET = re.compile(r'<code class="api-key-secret">(cmk_\d+_[A-Za-z0-9_-]+)</code>')


async def test_a_link_worker_makes_a_key_and_sees_the_secret_once(staff_client, db):
    member = await make_link_worker_account(await make_partner("Cannock Social Prescribing"))
    await sign_in(staff_client, member)

    response = await post_form(staff_client, PAGE, {"name": "Case system"}, page=PAGE)

    assert response.status_code == 200, response.text
    secret = SECRET.search(response.text).group(1)
    assert "This is the only time it is shown" in response.text
    assert await authenticate(secret, datetime.now(UTC)) is not None
    again = await staff_client.get(PAGE)
    assert "Case system" in again.text and secret not in again.text and "Revoke" in again.text
    assert await AuditEntry.exists().where(
        (AuditEntry.staff_member == member.id) & (AuditEntry.action == "partner_api_key.created")
    )


async def test_a_key_without_a_name_shows_the_error_summary(staff_client, db):
    await sign_in(staff_client, await make_link_worker_account())

    response = await post_form(staff_client, PAGE, {"name": "  "}, page=PAGE)

    assert response.status_code == 422
    assert "There is a problem" in response.text and "Enter a name for the key" in response.text
    assert SECRET.search(response.text) is None


async def test_revoking_a_key_stops_it_at_once(staff_client, db):
    partner = await make_partner()
    member = await make_link_worker_account(partner)
    made = await create_api_key(await make_link_worker(partner), "Old system", datetime.now(UTC))  # a colleague's
    await sign_in(staff_client, member)

    response = await post_form(staff_client, f"{PAGE}/revoke", {"key_id": str(made.id)}, page=PAGE)

    assert response.status_code == 303 and response.headers["location"] == f"{PAGE}?notice=revoked"
    assert await authenticate(made.secret, datetime.now(UTC)) is None
    listing = await staff_client.get(response.headers["location"])
    assert "The key is revoked" in listing.text and "Revoked" in listing.text


async def test_a_link_worker_sees_and_revokes_only_their_own_organisations_keys(staff_client, db):
    theirs = await create_api_key(await make_link_worker(), "Their system", datetime.now(UTC))
    await sign_in(staff_client, await make_link_worker_account())

    listing = await staff_client.get(PAGE)
    response = await post_form(staff_client, f"{PAGE}/revoke", {"key_id": str(theirs.id)}, page=PAGE)

    assert "Their system" not in listing.text
    assert response.status_code == 404 and "We could not find that API key" in response.text
    row = await PartnerApiKey.select(PartnerApiKey.revoked_at).where(PartnerApiKey.id == theirs.id).first()
    assert row["revoked_at"] is None


async def test_an_unlinked_partner_account_gets_the_not_linked_page(staff_client, db):
    await sign_in(staff_client, await make_staff("partner"))

    response = await staff_client.get(PAGE)

    assert response.status_code == 409 and "not linked to a partner organisation" in response.text
