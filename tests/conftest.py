"""Test wiring: the environment is set before any Commons module is imported."""

from __future__ import annotations

import os
import tempfile

_TEST_DATA_DIR = tempfile.mkdtemp(prefix="commons-tests-")
os.environ["COMMONS_ENV"] = "test"
os.environ["COMMONS_DATA_DIR"] = _TEST_DATA_DIR
os.environ.setdefault("COMMONS_DATABASE_URL", f"sqlite:///{_TEST_DATA_DIR}/default.sqlite3")
for _name in (
    "COMMONS_NATS_URL", "COMMONS_SMTP_URL", "COMMONS_SECRET_KEY", "COMMONS_SMS_URL", "COMMONS_SMS_INBOUND_TOKEN",
    "COMMONS_FAILPOINTS", "COMMONS_SEND_LEASE_SECONDS", "COMMONS_ACK_WAIT_SECONDS",
):
    os.environ.pop(_name, None)

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from piccolo.engine.base import Engine  # noqa: E402

from commons.db import bind_tables, close_pool, engine_for  # noqa: E402
from tests.support.services import (  # noqa: E402
    NatsServer,
    create_pg_database,
    drop_pg_database,
    pg_reachable,
    run_migrations,
    run_sync,  # noqa: E402
    start_smtp_server,
)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(_TEST_DATA_DIR)


@pytest.fixture(scope="session")
def sqlite_url(data_dir: Path) -> str:
    url = f"sqlite:///{data_dir}/test.sqlite3"
    run_migrations(url, data_dir)
    return url


@pytest.fixture(scope="session")
def postgres_url(data_dir: Path):
    if not run_sync(pg_reachable()):
        if IN_CI:
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is unreachable; in CI the PostgreSQL tests must run.")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is unreachable (outside CI only)")
    url = run_sync(create_pg_database())
    _created_databases.append(url)  # dropped by _close_pools, after the pools using it are closed
    run_migrations(url, data_dir)
    return url


_open_engines: list = []
_created_databases: list[str] = []


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def engine(request):
    """A migrated database on each engine; every test using it runs on both."""
    url = request.getfixturevalue(f"{request.param}_url")
    return TestDatabase(engine=engine_for(url), url=url, kind=request.param)


@pytest.fixture(scope="session", autouse=True)
async def _close_pools():
    yield
    for eng in _open_engines:
        await close_pool(eng)
    for url in _created_databases:
        await drop_pg_database(url)


@dataclass
class TestDatabase:
    """A migrated test database: ``engine`` is what the tables are bound to."""

    __test__ = False
    engine: Engine
    url: str
    kind: str  #: sqlite | postgres


async def _ready(database: TestDatabase) -> TestDatabase:
    if database.kind == "postgres" and database.engine.pool is None:
        # Each test process (pytest-xdist runs two) shares the server's 100 connections with the worker processes
        # that e2e and fault tests start: at most 20 here, and idle ones closed after 10 s, not kept for ever.
        await database.engine.start_connection_pool(min_size=1, max_size=20, max_inactive_connection_lifetime=10)
        _open_engines.append(database.engine)
    bind_tables(database.engine)
    return database


@pytest.fixture
async def db(engine):
    """Every table bound to this test's engine (PostgreSQL through a connection pool)."""
    return await _ready(engine)


@pytest.fixture(scope="session")
def pg_engine_unbound(postgres_url):
    return TestDatabase(engine=engine_for(postgres_url), url=postgres_url, kind="postgres")


@pytest.fixture
async def pg_engine(pg_engine_unbound):
    """PostgreSQL only, for tests whose claim is about PostgreSQL (real concurrency, LISTEN/NOTIFY)."""
    return await _ready(pg_engine_unbound)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory):
    server = NatsServer(store_dir=tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server():
    server = start_smtp_server()
    yield server
    server.controller.stop()


@pytest.fixture
async def js(nats_server):
    """A JetStream context on the shared test nats-server, with the COMMONS stream in place."""
    from events.stream import close, connect, ensure_stream

    if nats_server.process is None or nats_server.process.poll() is not None:
        nats_server.start()  # an earlier test left it stopped
    nc = await connect(nats_server.url, name="test")
    context = nc.jetstream()
    await ensure_stream(context)
    yield context
    await close(nc)
