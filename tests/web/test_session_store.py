"""The PostgreSQL session store keeps Litestar's Store promises: values, expiry, renewal, deletion.

Every web test on PostgreSQL also runs its sessions (bookings remembered, sign-in, rotation) through it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import asyncpg

from booking.tables import ServerSideSession
from web.session_store import _UPSERT, DatabaseStore


def new_key() -> str:
    return secrets.token_hex(32)


async def test_a_value_comes_back_until_it_expires_and_then_is_gone(pg_engine):
    store, key = DatabaseStore(), new_key()
    await store.set(key, "first", expires_in=60)
    await store.set(key, b"second", expires_in=60)  # the same key again replaces the value
    assert await store.get(key) == b"second"
    assert await store.exists(key)
    assert 55 <= await store.expires_in(key) <= 60

    await store.set(key, b"stale", expires_in=timedelta(seconds=-1))  # already past its time
    assert await store.get(key) is None
    assert not await store.exists(key) and await store.expires_in(key) is None


async def test_renewing_on_read_moves_the_expiry_and_no_expiry_means_kept(pg_engine):
    store, renewed, forever = DatabaseStore(), new_key(), new_key()
    await store.set(renewed, b"data", expires_in=30)
    assert await store.get(renewed, renew_for=3600) == b"data"
    assert await store.expires_in(renewed) > 3000

    await store.set(forever, b"data")
    assert await store.get(forever) == b"data" and await store.expires_in(forever) is None


async def test_delete_and_delete_expired_remove_only_what_they_should(pg_engine):
    store, kept, deleted, expired = DatabaseStore(), new_key(), new_key(), new_key()
    for key in (kept, deleted):
        await store.set(key, b"data", expires_in=60)
    await store.set(expired, b"old", expires_in=timedelta(seconds=-5))

    await store.delete(deleted)
    await store.delete_expired()

    remaining = {
        row["key"]
        for row in await ServerSideSession.select(ServerSideSession.key).where(
            ServerSideSession.key.is_in([f"session:{key}" for key in (kept, deleted, expired)])
        )
    }
    assert remaining == {f"session:{kept}"}


async def test_stores_in_the_one_table_see_and_delete_only_their_own_keys(pg_engine):
    sessions, counts, key = DatabaseStore("session"), DatabaseStore("rate-limit"), new_key()
    await sessions.set(key, b"a session", expires_in=60)
    await counts.set(key, b"a count", expires_in=60)
    assert (await sessions.get(key), await counts.get(key)) == (b"a session", b"a count")

    await counts.delete_all()
    assert await counts.get(key) is None
    assert await sessions.get(key) == b"a session"


def _numbered(sql: str) -> str:
    """The statement with Piccolo's ``{}`` parameters written as asyncpg's ``$1``, ``$2``, ``$3``."""
    parts = sql.split("{}")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))


async def test_a_session_write_commits_without_waiting_for_the_disk_and_leaves_the_connection_as_it_was(
    pg_engine,
):
    connection = await asyncpg.connect(pg_engine.url)
    try:
        key, expires = f"session:{new_key()}", datetime.now(UTC) + timedelta(minutes=5)
        async with connection.transaction():
            await connection.execute(_numbered(_UPSERT), key, b"data", expires)
            # Only this write's own transaction commits asynchronously…
            assert await connection.fetchval("SHOW synchronous_commit") == "off"
        # …the connection, which a booking may use next, still commits synchronously.
        assert await connection.fetchval("SHOW synchronous_commit") == "on"
        await connection.execute(_numbered(_UPSERT), key, b"again", expires)  # on its own, as the store runs it
        assert await connection.fetchval("SHOW synchronous_commit") == "on"
        assert await connection.fetchval('SELECT "value" FROM "server_side_session" WHERE "key" = $1', key) == b"again"
    finally:
        await connection.close()
