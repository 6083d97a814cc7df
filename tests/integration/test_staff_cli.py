"""``commons staff create``: prints a one-time link that works, and refuses bad input with exit code 2."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, datetime

import pytest

from booking.staff_accounts import find_staff_link
from booking.states import StaffRole
from booking.tables import PartnerStaff, StaffMember, StaffVenue
from tests.builders import make_venue, unique
from tests.referral_support import make_partner
from tests.support.services import commons_env
from tests.web.conftest import web_settings

BASE_URL = "https://commons.example"
LINK = re.compile(r"^https://commons\.example/staff/password/(\S+)$", re.M)


async def commons_staff_create(db, data_dir, *args: str) -> tuple[int, str, str]:
    env = commons_env(db.url, data_dir, COMMONS_BASE_URL=BASE_URL)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "commons.cli", "staff", "create", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_create_prints_a_link_that_sets_the_password(db, data_dir):
    venue = await make_venue()
    email = f"{unique('cli')}@staff.example.org"
    code, out, err = await commons_staff_create(
        db, data_dir, "--email", email.upper(), "--role", "coordinator", "--venue", venue.slug, "--name", "Cli Person"
    )
    assert code == 0, err
    token = LINK.search(out).group(1)
    member = await StaffMember.select().where(StaffMember.email == email).first()
    assert (member["role"], member["name"], member["password_hash"]) == (StaffRole.COORDINATOR.value, "Cli Person", None)
    assert await StaffVenue.exists().where((StaffVenue.staff_member == member["id"]) & (StaffVenue.venue == venue.id))
    state = await find_staff_link(web_settings(db, data_dir).secret_key, token, now=datetime.now(UTC))
    assert state.usable and state.staff_member_id == member["id"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "vol@example.org", "--role", "volunteer"], "give --venue"),
        (["--email", "vol@example.org", "--role", "volunteer", "--venue", "no-such-venue"], "no venue called"),
        (["--email", "not an address", "--role", "admin"], "correct format"),
        (["--email", "x@example.org", "--role", "owner"], "invalid choice"),
        (["--role", "admin"], "required"),
        (["--email", "pw@example.org", "--role", "admin", "--password", "secret"], "unrecognized arguments"),
    ],
)
async def test_bad_input_exits_with_2_and_says_why(db, data_dir, args, message):
    code, out, err = await commons_staff_create(db, data_dir, *args)
    assert code == 2
    assert message in err and "/staff/password/" not in out


async def test_an_existing_address_is_refused(db, data_dir):
    email = f"{unique('twice')}@staff.example.org"
    assert (await commons_staff_create(db, data_dir, "--email", email, "--role", "admin"))[0] == 0
    code, _, err = await commons_staff_create(db, data_dir, "--email", email, "--role", "admin")
    assert code == 2 and "already a staff account" in err


@pytest.mark.parametrize("by", ["name", "id"])
async def test_a_partner_account_is_linked_to_the_partner_named(db, data_dir, by):
    partner = await make_partner(unique("Cannock Wellbeing"))
    email = f"{unique('link')}@staff.example.org"
    reference = partner.name if by == "name" else str(partner.id)
    code, out, err = await commons_staff_create(db, data_dir, "--email", email, "--role", "partner", "--partner", reference)
    assert code == 0, err
    assert "Created a partner account" in out and LINK.search(out)
    member = await StaffMember.select().where(StaffMember.email == email).first()
    assert member["role"] == StaffRole.PARTNER.value
    links = await PartnerStaff.select(PartnerStaff.partner).where(PartnerStaff.staff_member == member["id"])
    assert links == [{"partner": partner.id}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "partner"], "give --partner"),
        (["--role", "partner", "--partner", "No Such Trust Anywhere"], "no partner with the id or name"),
        (["--role", "partner", "--partner", "1", "--venue", "a-venue"], "leave out --venue"),
        (["--role", "volunteer", "--venue", "a-venue", "--partner", "1"], "only for --role partner"),
    ],
)
async def test_a_partner_account_needs_a_known_partner_and_no_venue(db, data_dir, args, message):
    email = f"{unique('nolink')}@staff.example.org"
    code, out, err = await commons_staff_create(db, data_dir, "--email", email, *args)
    assert code == 2
    assert message in err and "/staff/password/" not in out
    assert not await StaffMember.exists().where(StaffMember.email == email)
