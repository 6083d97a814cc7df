"""The database stops answering mid-journey: a 503 that says nothing was booked and to try again, never a 500.

The app runs against a PostgreSQL cluster of the test's own, crashed with ``pg_ctl -m immediate`` and
started again; the same app, without a restart, must then serve and book as before.
"""

from __future__ import annotations

import asyncio

import pytest

from booking.tables import Booking
from commons.settings import load_settings
from tests.builders import make_session
from tests.faults.pg_cluster import migrated_cluster
from tests.web.conftest import browser, check_answers, confirm_answers
from web.errors import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS

TRY_AGAIN = "Sorry, we could not reach our records just now. Nothing was booked"


@pytest.fixture
async def cluster(tmp_path):
    async with migrated_cluster(tmp_path / "migrate") as cluster:
        yield cluster


def assert_try_again_page(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == RETRY_AFTER_SECONDS
    assert TRY_AGAIN in response.text and "please try again in a minute" in response.text
    assert "Traceback" not in response.text and "asyncpg" not in response.text


async def test_a_resident_is_told_to_try_again_while_the_database_is_down_and_can_book_after(cluster, tmp_path):
    settings = load_settings(
        {"COMMONS_ENV": "test", "COMMONS_DATABASE_URL": cluster.url, "COMMONS_DATA_DIR": str(tmp_path)}
    )
    async with browser(settings) as client:
        session = await make_session(capacity=3)
        checked = await check_answers(client, session.id, name="Grace Hopper", email="grace@example.org")
        assert checked.status_code == 200 and "/book/confirm" in checked.text

        await asyncio.to_thread(cluster.crash)
        assert_try_again_page(await confirm_answers(client, session.id, checked.text))
        assert_try_again_page(await client.get(f"/sessions/{session.id}"))
        api = await client.get(f"/api/v1/sessions/{session.id}")
        assert (api.status_code, api.json()) == (503, {"status_code": 503, "detail": DATABASE_UNAVAILABLE})
        assert api.headers["retry-after"] == RETRY_AFTER_SECONDS

        await asyncio.to_thread(cluster.start)
        assert await Booking.count() == 0, "a request answered 503 wrote a booking"
        page = await client.get(f"/sessions/{session.id}")  # the same app: its pool replaced the dead connections
        assert page.status_code == 200, page.text
        retried = await confirm_answers(client, session.id, checked.text)  # "try again": the same form
        assert retried.status_code == 303, retried.text
        assert await Booking.count() == 1
