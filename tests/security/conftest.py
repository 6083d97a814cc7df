"""Security tests run on SQLite: CSRF, cookies, headers and who may see what do not depend on the engine.

The schema fuzz (test_schema_fuzz.py) is the exception: it runs on both engines, since a 500 can be one engine's.
"""

from __future__ import annotations

import pytest

from commons.db import engine_for
from tests.conftest import TestDatabase, _ready
from tests.web.conftest import browser, web_settings


@pytest.fixture(scope="session")
def sqlite_engine(sqlite_url) -> TestDatabase:
    return TestDatabase(engine=engine_for(sqlite_url), url=sqlite_url, kind="sqlite")


@pytest.fixture
async def sqlite_db(sqlite_engine) -> TestDatabase:
    """Every table bound to the SQLite test database (CSRF, cookies and headers are engine-agnostic)."""
    return await _ready(sqlite_engine)


@pytest.fixture
async def client(sqlite_db, data_dir):
    """A browser on the app, with its own cookies."""
    async with browser(web_settings(sqlite_db, data_dir)) as test_client:
        yield test_client


@pytest.fixture
async def other_client(sqlite_db, data_dir, client):
    """A second browser with its own cookies: someone else, on another computer."""
    async with browser(web_settings(sqlite_db, data_dir)) as test_client:
        yield test_client
