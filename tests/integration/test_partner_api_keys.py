"""Partner API keys against real SQLite and PostgreSQL: made once, stored hashed, revoked at once, audited,
and a key reads only its own partner's referrals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.partner_api_keys import (
    ApiKeyNotFound,
    authenticate,
    create_api_key,
    parse_secret,
    partner_api_keys,
    revoke_api_key,
    validate_key_name,
)
from booking.references import hash_token
from booking.referrals import (
    NotAPartner,
    create_referral,
    link_partner_staff,
    partner_of,
    partner_referral,
    partner_referrals,
    unlink_partner_staff,
)
from booking.service import book_place
from booking.staff import StaffUser
from booking.states import ReferralMode, StaffRole
from booking.tables import AuditEntry, PartnerApiKey, StaffMember
from tests.builders import make_session, resident, unique
from tests.referral_support import make_link_worker, make_partner, referral_request
from tests.web.staff.support import make_staff


def test_a_key_name_is_required_and_bounded():
    assert validate_key_name("  Case system ") == ("Case system", {})
    assert "name" in validate_key_name("")[1]
    assert "100 characters" in validate_key_name("x" * 101)[1]["name"]


@pytest.mark.parametrize(
    "secret", ["", "cmk", "cmk_", "cmk_1_", "cmk_x_abc", "abc_1_abc", "cmk_0_abc", "cmk_99999999999_abc", "cmk_-1_a"]
)
def test_malformed_secrets_are_not_parsed(secret):
    assert parse_secret(secret) is None


async def test_the_secret_is_shown_once_and_only_its_hash_is_stored(db):
    worker = await make_link_worker()
    now = datetime.now(UTC)

    made = await create_api_key(worker, "Case system", now)

    random_part = made.secret.split("_", 2)[2]
    assert made.secret.startswith(f"cmk_{made.id}_") and len(random_part) >= 43  # 32 random bytes
    row = await PartnerApiKey.select().where(PartnerApiKey.id == made.id).first()
    assert made.secret not in row.values() and random_part not in row.values()
    assert row["secret_hash"] == hash_token(random_part)
    caller = await authenticate(made.secret, now)
    assert caller is not None and caller.key_id == made.id and caller.actor.id == worker.id
    assert await authenticate(made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B"), now) is None
    assert await authenticate(f"cmk_{made.id + 1000}_{random_part}", now) is None
    audit = (
        await AuditEntry.select()
        .where(AuditEntry.subject_id == made.id, AuditEntry.action == "partner_api_key.created")
        .first()
    )
    assert audit is not None and audit["staff_member"] == worker.id and made.secret not in str(audit)


async def test_only_partner_staff_make_keys(db):
    member = await make_staff(StaffRole.COORDINATOR)
    coordinator = StaffUser(member.id, member.email, member.name, StaffRole.COORDINATOR, frozenset())
    with pytest.raises(NotAPartner):
        await create_api_key(coordinator, "Nope", datetime.now(UTC))


async def test_revoking_stops_the_key_at_once_and_is_audited(db):
    worker = await make_link_worker()
    now = datetime.now(UTC)
    made = await create_api_key(worker, "Old system", now)
    assert await authenticate(made.secret, now) is not None

    await revoke_api_key(worker, made.id, now)
    await revoke_api_key(worker, made.id, now)  # twice: nothing more happens

    assert await authenticate(made.secret, now) is None
    [view] = [key for key in await partner_api_keys(await _partner(worker)) if key.id == made.id]
    assert view.revoked_at is not None and view.created_by_name == worker.name
    revocations = await AuditEntry.count().where(
        AuditEntry.subject_id == made.id, AuditEntry.action == "partner_api_key.revoked"
    )
    assert revocations == 1


async def test_another_partner_cannot_revoke_or_list_a_key(db):
    owner, stranger = await make_link_worker(), await make_link_worker()
    made = await create_api_key(owner, "Owner's", datetime.now(UTC))

    with pytest.raises(ApiKeyNotFound):
        await revoke_api_key(stranger, made.id, datetime.now(UTC))
    assert made.id not in [key.id for key in await partner_api_keys(await _partner(stranger))]
    assert await authenticate(made.secret, datetime.now(UTC)) is not None


async def test_a_key_stops_working_when_its_maker_leaves_the_partner(db):
    worker = await make_link_worker()
    made = await create_api_key(worker, "Worker's", datetime.now(UTC))
    partner_id = await _partner(worker)

    await link_partner_staff(worker.id, (await make_partner()).id)
    assert await authenticate(made.secret, datetime.now(UTC)) is None  # never speaks for the new partner
    await link_partner_staff(worker.id, partner_id)
    assert await authenticate(made.secret, datetime.now(UTC)) is not None
    await unlink_partner_staff(worker.id)
    assert await authenticate(made.secret, datetime.now(UTC)) is None
    await link_partner_staff(worker.id, partner_id)
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == worker.id)
    assert await authenticate(made.secret, datetime.now(UTC)) is None


async def test_last_used_is_written_at_most_once_a_minute(db):
    worker = await make_link_worker()
    start = datetime.now(UTC)
    made = await create_api_key(worker, "Busy", start)

    await authenticate(made.secret, start)
    await authenticate(made.secret, start + timedelta(seconds=30))
    assert (await _key(made.id))["last_used_at"] == start
    await authenticate(made.secret, start + timedelta(minutes=2))
    assert (await _key(made.id))["last_used_at"] == start + timedelta(minutes=2)


async def test_a_partner_reads_only_its_own_referrals_and_no_unreferred_booking(db):
    session = await make_session(capacity=10, starts_in=timedelta(days=7))
    ours, theirs = await make_link_worker(), await make_link_worker()
    now = datetime.now(UTC)
    first = await create_referral(ours, referral_request(session.id, unique("a"), mode=ReferralMode.BOOK), now)
    second = await create_referral(ours, referral_request(session.id, unique("b")), now + timedelta(seconds=1))
    other = await create_referral(theirs, referral_request(session.id, unique("c")), now)
    await book_place(session.id, resident(unique("walk-up")), 1)  # not referred by anyone
    partner_id = await _partner(ours)

    page = await partner_referrals(partner_id, limit=10, offset=0)
    assert [view.id for view in page] == [second.referral_id, first.referral_id]
    assert [view.id for view in await partner_referrals(partner_id, limit=1, offset=1)] == [first.referral_id]
    assert await partner_referral(partner_id, other.referral_id) is None
    assert (await partner_referral(partner_id, first.referral_id)).outcome.value == "booked"


async def _partner(worker: StaffUser) -> int:
    return await partner_of(worker)


async def _key(key_id: int) -> dict:
    return await PartnerApiKey.select().where(PartnerApiKey.id == key_id).first()
