"""``commons up`` with no configuration: SQLite, the bundled nats-server, the dev mailbox, all in one process."""

from __future__ import annotations

import os
import re
import signal

import httpx
import pytest

from tests.e2e.conftest import wait_until_healthy
from tests.events.support import unique_email
from tests.support.services import commons_env, free_port, wait_for_async

pytestmark = pytest.mark.e2e


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_commons_up_runs_everything_and_stops_cleanly(tmp_path, commons_processes):
    data_dir = tmp_path / "fresh"
    env = commons_env("unused", data_dir)
    del env["COMMONS_DATABASE_URL"]  # the default: SQLite in the data directory
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env["COMMONS_BASE_URL"] = base_url
    up = commons_processes("up", "--port", str(port), env=env)

    wait_until_healthy(base_url, up, timeout=90)
    nats_pid = int((data_dir / "nats" / "nats-server.pid").read_text().strip())
    assert process_exists(nats_pid)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        assert (await client.get("/readyz")).status_code == 200
        sessions = (await client.get("/api/v1/sessions")).json()
        assert sessions, "the demo data should have been loaded"
        home = await client.get("/")
        assert home.status_code == 200 and sessions[0]["activity"] in home.text

        email = unique_email()
        response = await client.post(
            f"/api/v1/sessions/{sessions[0]['id']}/bookings", json={"name": "Ada Lovelace", "email": email, "party_size": 1}
        )
        assert response.status_code == 201, response.text
        reference = response.json()["reference"]

        async def in_mailbox() -> bool:
            return email in (await client.get("/dev/mailbox")).text

        await wait_for_async(in_mailbox, timeout=15, message="the confirmation in the dev mailbox")
        assert reference in (await client.get("/dev/mailbox")).text  # in the subject line

        # The log offers the demo administrator's one-time link; it opens the set-password form.
        link = re.search(rf"{re.escape(base_url)}(/staff/password/\S+)", up.log)
        assert link, up.log
        form = await client.get(link.group(1))
        assert form.status_code == 200 and "admin@example.org" in form.text

    assert up.signal(signal.SIGINT) == 0
    assert "Commons is running at" in up.log
    assert not process_exists(nats_pid), "nats-server outlived commons up"
