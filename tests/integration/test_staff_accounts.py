"""Staff passwords, sign-in lockout and one-time links (booking/staff_accounts.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.staff_accounts import (
    LOCKED_FOR,
    MAX_FAILED_SIGN_INS,
    MAX_RESET_LINKS,
    SIGN_IN_REFUSED,
    SignInRefused,
    StaffAccountError,
    authenticate,
    change_password,
    check_new_password,
    create_staff_member,
    find_staff_link,
    link_token,
    load_staff_user,
    request_password_reset,
    set_password_with_link,
)
from booking.states import StaffRole
from booking.tables import StaffLink, StaffMember
from events.tables import OutboxEvent
from tests.builders import make_venue, unique
from tests.web.staff.support import PASSWORD, make_staff

SECRET = "test-secret-for-staff-accounts"
NOW = datetime(2031, 3, 2, 10, 0, tzinfo=UTC)
NEW_PASSWORD = "another good long password"


async def refused(email: str, password: str, now: datetime) -> str:
    with pytest.raises(SignInRefused) as error:
        await authenticate(email, password, now=now)
    return error.value.message


async def token_for(link_id: int) -> str:
    row = await StaffLink.select(StaffLink.nonce).where(StaffLink.id == link_id).first()
    return link_token(SECRET, link_id, row["nonce"])


async def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(db):
    member = await make_staff("volunteer")
    for attempt in range(MAX_FAILED_SIGN_INS):
        await refused(member.email, f"wrong password {attempt}", NOW)

    during = NOW + LOCKED_FOR - timedelta(seconds=1)
    assert await refused(member.email, PASSWORD, during) == SIGN_IN_REFUSED
    user, _ = await authenticate(member.email, PASSWORD, now=NOW + LOCKED_FOR + timedelta(seconds=1))
    assert user.id == member.id
    row = await StaffMember.select(StaffMember.failed_sign_ins, StaffMember.locked_until).where(
        StaffMember.id == member.id
    ).first()
    assert row == {"failed_sign_ins": 0, "locked_until": None}


async def test_four_wrong_passwords_then_the_right_one_is_no_lock(db):
    member = await make_staff("volunteer")
    for attempt in range(MAX_FAILED_SIGN_INS - 1):
        await refused(member.email, f"wrong {attempt}", NOW)
    user, _ = await authenticate(member.email.upper(), PASSWORD, now=NOW)
    assert user.id == member.id


async def test_an_unknown_address_a_deactivated_account_and_no_password_get_the_same_message(db):
    deactivated = await make_staff("volunteer", active=False)
    invited = f"{unique('nopw')}@staff.example.org"
    await create_staff_member(invited, StaffRole.ADMIN, now=NOW)  # invited, no password set yet
    messages = {
        await refused("nobody-here@staff.example.org", PASSWORD, NOW),
        await refused(deactivated.email, PASSWORD, NOW),
        await refused(invited, PASSWORD, NOW),
    }
    assert messages == {SIGN_IN_REFUSED}


async def test_a_set_password_link_works_once(db):
    member = await make_staff("coordinator", [await make_venue()])
    link_id = await _reset_link(member)
    token = await token_for(link_id)

    assert await set_password_with_link(SECRET, token, NEW_PASSWORD, now=NOW) == member.id
    with pytest.raises(StaffAccountError, match="expired or has already been used"):
        await set_password_with_link(SECRET, token, "yet another long password", now=NOW)
    state = await find_staff_link(SECRET, token, now=NOW)
    assert state.used and not state.usable
    await authenticate(member.email, NEW_PASSWORD, now=NOW)
    await refused(member.email, PASSWORD, NOW)


async def test_a_reset_link_expires_after_an_hour(db):
    member = await make_staff("volunteer")
    token = await token_for(await _reset_link(member))
    assert (await find_staff_link(SECRET, token, now=NOW + timedelta(minutes=59))).usable
    state = await find_staff_link(SECRET, token, now=NOW + timedelta(hours=1))
    assert state.expired and not state.usable
    with pytest.raises(StaffAccountError):
        await set_password_with_link(SECRET, token, NEW_PASSWORD, now=NOW + timedelta(hours=1))


@pytest.mark.parametrize("forge", ["other_secret", "changed_mac", "changed_id", "garbage", "huge_id"])
async def test_forged_links_name_nothing(db, forge):
    member = await make_staff("volunteer")
    link_id = await _reset_link(member)
    token = await token_for(link_id)
    row = await StaffLink.select(StaffLink.nonce).where(StaffLink.id == link_id).first()
    forged = {
        "other_secret": link_token("another-secret", link_id, row["nonce"]),
        "changed_mac": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "changed_id": f"{link_id + 1}.{token.split('.', 1)[1]}",
        "garbage": "not-a-token",
        "huge_id": f"99999999999.{token.split('.', 1)[1]}",
    }[forge]
    assert await find_staff_link(SECRET, forged, now=NOW) is None
    with pytest.raises(StaffAccountError):
        await set_password_with_link(SECRET, forged, NEW_PASSWORD, now=NOW)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "12 characters or more"),
        ("x" * 257, "256 characters or fewer"),
        ("ababababababab", "one or two characters repeated"),
        ("Someone@Example.org", "must not be your email address"),
    ],
)
def test_password_rules(password, message):
    assert message in check_new_password(password, "someone@example.org")


async def test_changing_the_password_bumps_the_auth_version(db):
    member = await make_staff("volunteer")
    _, before = await load_staff_user(member.id)
    with pytest.raises(StaffAccountError, match="current password"):
        await change_password(member.id, "not the current one", NEW_PASSWORD)
    with pytest.raises(StaffAccountError, match="12 characters"):
        await change_password(member.id, PASSWORD, "short")
    await change_password(member.id, PASSWORD, NEW_PASSWORD)
    _, after = await load_staff_user(member.id)
    assert after == before + 1
    await authenticate(member.email, NEW_PASSWORD, now=NOW)


async def test_a_reset_request_records_one_event_and_unknown_addresses_record_none(db):
    member = await make_staff("volunteer")
    before = await OutboxEvent.count().where(OutboxEvent.type == "staff.password_reset_requested")
    assert not await request_password_reset("nobody-at-all@staff.example.org", now=NOW)
    assert await request_password_reset(member.email, now=NOW)
    assert await OutboxEvent.count().where(OutboxEvent.type == "staff.password_reset_requested") == before + 1


async def test_reset_requests_are_limited_per_account(db):
    member = await make_staff("volunteer")
    for _ in range(MAX_RESET_LINKS):
        assert await request_password_reset(member.email, now=NOW)
    assert not await request_password_reset(member.email, now=NOW + timedelta(minutes=1))
    assert await request_password_reset(member.email, now=NOW + timedelta(minutes=16))


async def test_create_staff_member_refuses_bad_input(db):
    with pytest.raises(StaffAccountError, match="give --venue"):
        await create_staff_member("vol@example.org", StaffRole.VOLUNTEER, now=NOW)
    with pytest.raises(StaffAccountError, match="no venue called"):
        await create_staff_member("vol@example.org", StaffRole.VOLUNTEER, venue_slugs=["no-such-venue"], now=NOW)
    with pytest.raises(StaffAccountError, match="correct format"):
        await create_staff_member("not an address", StaffRole.ADMIN, now=NOW)
    existing = await make_staff("admin")
    with pytest.raises(StaffAccountError, match="already a staff account"):
        await create_staff_member(existing.email.upper(), StaffRole.ADMIN, now=NOW)


async def _reset_link(member: StaffMember) -> int:
    assert await request_password_reset(member.email, now=NOW)
    row = await StaffLink.select(StaffLink.id).where(StaffLink.staff_member == member.id).order_by(
        StaffLink.id, ascending=False
    ).first()
    return row["id"]


async def test_signing_in_and_changing_a_password_are_in_the_audit_log(db):
    from booking.tables import AuditEntry

    member = await make_staff("coordinator")
    await authenticate(member.email, PASSWORD, now=NOW)
    await change_password(member.id, PASSWORD, NEW_PASSWORD)
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.staff_email).where(
        (AuditEntry.subject_type == "staff_member") & (AuditEntry.subject_id == member.id)
    ).order_by(AuditEntry.id)
    assert [entry["action"] for entry in entries] == ["staff.signed_in", "staff.password_changed"]
    assert {entry["staff_email"] for entry in entries} == {member.email}
    # A refused attempt changes nothing in the log (there is no one to name for an unknown address).
    await refused(member.email, "wrong password entirely", NOW)
    assert await AuditEntry.count().where(
        (AuditEntry.subject_type == "staff_member") & (AuditEntry.subject_id == member.id)
    ) == 2
