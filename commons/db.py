"""Database engines for both supported back ends, and the one way Commons opens a write transaction."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

SQLITE_PREFIX = "sqlite:///"


def sqlite_path(url: str) -> str:
    return url[len(SQLITE_PREFIX) :]


class _EndingTransaction(PostgresTransaction):
    """Piccolo's transaction, made to end even when its connection died.

    Piccolo releases the connection and unbinds the transaction from the task only after COMMIT or
    ROLLBACK succeeded. When the server went away mid-transaction ROLLBACK fails too, so the task stayed
    bound to a dead transaction and every later query in it failed ("connection has been released back
    to the pool"): a worker's loop never recovered after a database restart.
    """

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            self.transaction = self.connection.transaction()
            await self.begin()
        except BaseException:
            await self._discard_connection()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent is not None:
            return await super().__aexit__(exception_type, exception, traceback)
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        except BaseException:
            if self.engine.current_transaction.get() is self:
                self.engine.current_transaction.reset(self.context)
                await self._discard_connection()
            raise

    async def _discard_connection(self) -> None:
        """Close the connection for good (the pool opens a fresh one) and give its slot back."""
        with contextlib.suppress(Exception):  # already closed, or already handed back by asyncpg
            self.connection.terminate()
        if self.engine.pool:
            with contextlib.suppress(Exception):
                await self.engine.pool.release(self.connection)


class CommonsPostgresEngine(PostgresEngine):
    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _EndingTransaction(engine=self, allow_nested=allow_nested)


def engine_for(url: str) -> Engine:
    """Build the Piccolo engine a ``COMMONS_DATABASE_URL`` describes."""
    if url.startswith(("postgres://", "postgresql://")):
        return CommonsPostgresEngine(config={"dsn": url})
    if url.startswith(SQLITE_PREFIX):
        # A generous busy timeout: other processes (relay, workers) may hold the write lock briefly.
        return SQLiteEngine(path=sqlite_path(url), timeout=30)
    raise ValueError(f"Unsupported database URL: {url!r}")


def is_sqlite(engine: Engine) -> bool:
    return isinstance(engine, SQLiteEngine)


def all_tables() -> list:
    from booking.tables import TABLES as booking_tables
    from events.tables import TABLES as event_tables
    from notifications.tables import TABLES as notification_tables

    return [*booking_tables, *event_tables, *notification_tables]


def bind_tables(engine: Engine) -> None:
    """Point every Commons table at ``engine`` (used by processes and tests that pick an engine at run time)."""
    for table in all_tables():
        table._meta.db = engine


_sqlite_write_locks: dict[int, asyncio.Lock] = {}


@asynccontextmanager
async def write_transaction(engine: Engine) -> AsyncIterator[None]:
    """A transaction for a use case that writes.

    SQLite allows one writer at a time: ``BEGIN IMMEDIATE`` takes the write lock up front (so two
    transactions never deadlock upgrading a read lock) and an in-process lock queues this process's
    writers instead of letting them spin on SQLITE_BUSY. PostgreSQL needs neither: the conditional
    UPDATE in each use case is the serialisation point.
    """
    if engine.current_transaction.get() is not None:
        yield  # already inside the caller's transaction
        return
    if isinstance(engine, SQLiteEngine):
        lock = _sqlite_write_locks.setdefault(id(engine), asyncio.Lock())
        async with lock:
            async with engine.transaction(transaction_type=TransactionType.immediate):
                yield
    else:
        async with engine.transaction():
            yield


async def _end_open_transaction(conn) -> None:
    """What a connection needs on its way back to the pool: no transaction left open (one cancelled mid-way).

    asyncpg's default also runs ``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()`` (one more
    round trip for every query Piccolo runs). Commons never sets session state on a pooled connection: no
    SET outside a transaction, no LISTEN (the relay listens on its own connection), no cursors held
    past a transaction, no session-level advisory locks (docs/decisions.md).
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def open_pool(engine: Engine, max_size: int = 10) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=max_size, reset=_end_open_transaction)


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def _unique_violation_errors() -> tuple[type[Exception], ...]:
    import sqlite3

    import asyncpg

    return (asyncpg.exceptions.UniqueViolationError, sqlite3.IntegrityError)


#: What a unique index violation raises on either engine.
UNIQUE_VIOLATION_ERRORS = _unique_violation_errors()
