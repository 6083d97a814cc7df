"""``commons staff create``: prints a one-time link that works, and refuses bad input with exit code 2."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, datetime

import pytest

from booking.staff_accounts import find_staff_link
from booking.states import StaffRole
from booking.tables import StaffMember, StaffVenue
from tests.builders import make_venue, unique
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
