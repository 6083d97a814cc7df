"""Where web sessions and rate-limit counts live: PostgreSQL for a real deployment, files for the embedded default.

Litestar's ``FileStore`` does each read and write in a worker thread (a thread hop, a temporary file
and a rename per request that changes a session), and it is shared only by processes on one machine.
On PostgreSQL the sessions go in the ``server_side_session`` table instead: one statement each, on
the connection pool the app already has, seen by every web process on every host.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from litestar.stores.base import Store
from litestar.stores.file import FileStore

from booking.tables import ServerSideSession
from commons.settings import Settings

PURGE_EVERY = 600.0  #: seconds between deletions of expired sessions, per web process

#: Writing a session or a rate-limit count does not wait for the WAL to reach the disk: the statement sets
#: ``synchronous_commit`` off for its own transaction (``set_config(..., true)``; the connection's setting
#: is untouched). A PostgreSQL crash may lose the last fraction of a second of these writes, which leaves a
#: browser signed out or a count a little low, never anything half-written. Each request that changed
#: a session paid a WAL flush for it before; bookings and everything else still commit synchronously.
#: Deletions (signing out, rotating the id at sign-in) stay synchronous: a session ended must stay ended.
_ASYNC_COMMIT = "WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)) "
_UPSERT = (
    _ASYNC_COMMIT + 'INSERT INTO "server_side_session" ("key", "value", "expires_at") '
    "SELECT {}::varchar, {}::bytea, {}::timestamptz FROM async_commit "
    'ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value", "expires_at" = EXCLUDED."expires_at"'
)
_LIVE = '"key" = {} AND ("expires_at" IS NULL OR "expires_at" > {})'
_RENEW = _ASYNC_COMMIT + f'UPDATE "server_side_session" SET "expires_at" = {{}} FROM async_commit WHERE {_LIVE}'


def _seconds(value: int | timedelta | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class DatabaseStore(Store):
    """Litestar's ``Store`` on the ``server_side_session`` table (PostgreSQL SQL).

    ``namespace`` keeps stores apart in the one table (sessions, rate-limit counts): each sees, and
    ``delete_all`` deletes, only its own keys.
    """

    def __init__(self, namespace: str = "session") -> None:
        self._prefix = f"{namespace}:"
        self._next_purge = time.monotonic() + PURGE_EVERY

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        seconds = _seconds(expires_in)
        expires_at = datetime.now(UTC) + timedelta(seconds=seconds) if seconds is not None else None
        await ServerSideSession.raw(_UPSERT, self._key(key), data, expires_at)
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY
            await self.delete_expired()

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        now = datetime.now(UTC)
        rows = await ServerSideSession.raw(
            f'SELECT "value", "expires_at" FROM "server_side_session" WHERE {_LIVE}', self._key(key), now
        )
        if not rows:
            return None
        seconds = _seconds(renew_for)
        if seconds is not None and rows[0]["expires_at"] is not None:
            await ServerSideSession.raw(
                _RENEW,
                now + timedelta(seconds=seconds),
                self._key(key),
                now,
            )
        return bytes(rows[0]["value"])

    async def delete(self, key: str) -> None:
        await ServerSideSession.raw('DELETE FROM "server_side_session" WHERE "key" = {}', self._key(key))

    async def delete_all(self) -> None:
        await ServerSideSession.raw('DELETE FROM "server_side_session" WHERE starts_with("key", {})', self._prefix)

    async def delete_expired(self) -> None:
        await ServerSideSession.raw(
            'DELETE FROM "server_side_session" WHERE starts_with("key", {}) AND "expires_at" <= {}',
            self._prefix,
            datetime.now(UTC),
        )

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        now = datetime.now(UTC)
        rows = await ServerSideSession.raw(
            f'SELECT "expires_at" FROM "server_side_session" WHERE {_LIVE}', self._key(key), now
        )
        if not rows or rows[0]["expires_at"] is None:
            return None
        return int((rows[0]["expires_at"] - now).total_seconds())


def _store(settings: Settings, namespace: str, directory_name: str) -> Store:
    if settings.is_postgres:
        return DatabaseStore(namespace)
    directory = settings.data_dir / directory_name
    directory.mkdir(parents=True, exist_ok=True)
    return FileStore(directory, create_directories=False)


def session_store(settings: Settings) -> Store:
    """Session data stays on the server; the cookie holds only a random, unguessable id."""
    return _store(settings, "session", "web-sessions")


def rate_limit_store(settings: Settings) -> Store:
    """Attempts counted per client address, shared by every web process (``commons serve --workers``)."""
    return _store(settings, "rate-limit", "rate-limit")
