"""Crash tests get a world of their own: a fresh migrated database, nats-server and SMTP sink per test.

Nothing is shared with the rest of the suite, so the relay publishes only this test's outbox, the
`notifications` durable starts on an empty stream, and killing nats-server disturbs no other test.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from commons.db import bind_tables, close_pool, engine_for, open_pool
from events.stream import close, connect, ensure_stream
from tests.conftest import TestDatabase
from tests.e2e.conftest import commons_processes  # noqa: F401 (a fixture: real processes, logs shown on failure)
from tests.faults.pg_cluster import migrated_cluster
from tests.faults.support import CONCURRENT_BOOKINGS
from tests.support.services import (
    NatsServer,
    SmtpServer,
    commons_env,
    create_pg_database,
    drop_pg_database,
    run_migrations,
)


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_db(request, tmp_path):
    """A newly migrated database on each engine, bound in this process, dropped afterwards."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_url")  # skips outside CI, fails in CI, when PostgreSQL is missing
        url = await create_pg_database("commons_faults")
    else:
        url = f"sqlite:///{tmp_path}/faults.sqlite3"
    try:
        await asyncio.to_thread(run_migrations, url, tmp_path)
        engine = engine_for(url)
        await open_pool(engine, max_size=CONCURRENT_BOOKINGS)
        bind_tables(engine)
        yield TestDatabase(engine=engine, url=url, kind=request.param)
        await close_pool(engine)
    finally:
        if request.param == "postgres":
            await drop_pg_database(url)


@pytest.fixture
async def own_cluster(tmp_path):
    """A PostgreSQL cluster of this test's own (tests/faults/pg_cluster.py), migrated, removed afterwards."""
    async with migrated_cluster(tmp_path) as cluster:
        yield cluster


@pytest.fixture
async def cluster_db(own_cluster):
    """The Commons database on this test's own cluster, bound in this process."""
    engine = engine_for(own_cluster.url)
    await open_pool(engine, max_size=CONCURRENT_BOOKINGS)
    bind_tables(engine)
    yield TestDatabase(engine=engine, url=own_cluster.url, kind="postgres")
    await close_pool(engine)


@pytest.fixture
def own_nats(tmp_path):
    """A nats-server for this test alone; restarts keep its JetStream store directory."""
    server = NatsServer(store_dir=tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@dataclass
class Stack:
    """Where the ``commons`` processes of one crash test point."""

    db: TestDatabase
    nats: NatsServer
    smtp: SmtpServer
    data_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return commons_env(
            self.db.url,
            self.data_dir,
            COMMONS_NATS_URL=self.nats.url,
            COMMONS_SMTP_URL=self.smtp.url,
            **extra,
        )


@pytest.fixture
def stack(fresh_db, own_nats, smtp_server, tmp_path) -> Stack:
    return Stack(db=fresh_db, nats=own_nats, smtp=smtp_server, data_dir=tmp_path)


@pytest.fixture
def cluster_stack(cluster_db, own_nats, smtp_server, tmp_path) -> Stack:
    """Like ``stack``, on a PostgreSQL cluster the test may crash and restart (``own_cluster``)."""
    return Stack(db=cluster_db, nats=own_nats, smtp=smtp_server, data_dir=tmp_path)


@pytest.fixture
async def jetstream(own_nats):
    """A JetStream context on this test's nats-server, with the COMMONS stream; it reconnects after a restart."""
    nc = await connect(own_nats.url, name="faults-test")
    context = nc.jetstream()
    await ensure_stream(context)
    yield context
    await close(nc)
