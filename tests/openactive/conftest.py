"""OpenActive tests: a web client on the test database (the concept ids are the official ones, not stand-ins)."""

from __future__ import annotations

import pytest

from tests.web.conftest import browser, web_settings


@pytest.fixture
async def client(db, data_dir):
    async with browser(web_settings(db, data_dir)) as test_client:
        yield test_client
