"""Security tests run on SQLite: CSRF, cookies, headers and who may see what do not depend on the engine.

The exceptions run on both engines: the schema fuzz (test_schema_fuzz.py), since a 500 can be one engine's;
staff venue scoping (test_staff_cross_venue.py), which is SQL; and session-id rotation
(test_session_rotation.py), since PostgreSQL keeps web sessions in a table and SQLite in files. They use
``engine_client`` and ``engine_other_client``, on the ``db`` fixture's engines.
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


@pytest.fixture
async def engine_client(db, data_dir):
    """A browser on the app, with its own cookies, on each engine."""
    async with browser(web_settings(db, data_dir)) as test_client:
        yield test_client


@pytest.fixture
async def engine_other_client(db, data_dir, engine_client):
    """A second browser with its own cookies, on the same engine as ``engine_client``."""
    async with browser(web_settings(db, data_dir)) as test_client:
        yield test_client
