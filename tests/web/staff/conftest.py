"""Fixtures for the staff console: one venue of theirs and one that is not, and a signed-in browser per role."""

from __future__ import annotations

import pytest

from tests.builders import make_venue
from tests.web.conftest import browser, web_settings
from tests.web.staff.support import make_staff, sign_in


@pytest.fixture
async def staff_client(db, data_dir):
    """A browser with its own cookies; sign it in with ``support.sign_in``."""
    async with browser(web_settings(db, data_dir)) as test_client:
        yield test_client


@pytest.fixture
async def own_venue(db):
    return await make_venue(name="Our Library")


@pytest.fixture
async def other_venue(db):
    return await make_venue(name="Another Library")


@pytest.fixture
async def admin(db):
    return await make_staff("admin")


@pytest.fixture
async def coordinator(db, own_venue):
    return await make_staff("coordinator", [own_venue])


@pytest.fixture
async def volunteer(db, own_venue):
    return await make_staff("volunteer", [own_venue])


@pytest.fixture
async def as_admin(staff_client, admin):
    await sign_in(staff_client, admin)
    return staff_client


@pytest.fixture
async def as_coordinator(staff_client, coordinator):
    await sign_in(staff_client, coordinator)
    return staff_client


@pytest.fixture
async def as_volunteer(staff_client, volunteer):
    await sign_in(staff_client, volunteer)
    return staff_client
