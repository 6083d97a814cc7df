"""Each worker, run as a real process, fails at start-up with one clear line when the database is unreachable."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from commons.runner import STARTUP_FAILURE
from tests.support.services import commons_env, free_port

#: Far below asyncpg's own 60 s connect timeout: a refused connection must end the process at once.
PROMPTLY = 30


@pytest.mark.parametrize("kind", ["notifications", "capacity", "relay"])
def test_a_worker_exits_with_one_line_naming_the_database_when_postgresql_is_unreachable(kind, nats_server, data_dir):
    database_url = f"postgresql://commons:not-this-one@127.0.0.1:{free_port()}/commons"  # nothing listens there
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "commons.cli", "worker", kind],
        env=commons_env(database_url, data_dir, COMMONS_NATS_URL=nats_server.url),
        capture_output=True,
        text=True,
        timeout=PROMPTLY,
    )
    assert time.monotonic() - started < PROMPTLY
    assert result.returncode == STARTUP_FAILURE
    shown = database_url.replace(":not-this-one@", ":***@")
    [line] = [line for line in result.stderr.splitlines() if line.startswith(f"commons worker {kind}:")]
    assert line.startswith(f"commons worker {kind}: could not connect to the database at {shown}: ")
    assert "Connect call failed" in line or "refused" in line.lower()
    assert "Traceback" not in result.stderr and "not-this-one" not in result.stderr
