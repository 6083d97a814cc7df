"""Security tests exercise middleware that does not depend on the database engine: they run on SQLite only."""

from __future__ import annotations

import pytest

from commons.db import engine_for
from tests.conftest import TestDatabase, _ready


@pytest.fixture(scope="session")
def sqlite_engine(sqlite_url) -> TestDatabase:
    return TestDatabase(engine=engine_for(sqlite_url), url=sqlite_url, kind="sqlite")


@pytest.fixture
async def sqlite_db(sqlite_engine) -> TestDatabase:
    """Every table bound to the SQLite test database (CSRF, cookies and headers are engine-agnostic)."""
    return await _ready(sqlite_engine)
