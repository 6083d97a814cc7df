"""A malformed message on the stream goes to the dead letters; the real worker carries on behind it.

tests/events/test_consumer.py proves this for the shared consumer loop run in-process with a test
handler; here it is the real ``commons worker notifications`` process and the ``commons`` CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.faults.support import (
    NOTIFICATIONS,
    book_many,
    confirmations_mailed,
    make_sessions,
    settled,
)
from tests.support.services import commons_env, wait_for_async

pytestmark = pytest.mark.faults

POISON = b'{"specversion": "1.0", "id": "no-data-here"'  # cut off mid-object: not JSON


def dead_letters(stack) -> list[dict]:
    listing = subprocess.run(
        [sys.executable, "-m", "commons.cli", "events", "dead-letters", "--json"],
        env=commons_env(stack.db.url, stack.data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)


async def test_a_poison_message_is_dead_lettered_and_the_bookings_behind_it_are_emailed(
    stack, jetstream, commons_processes
):
    commons_processes("worker", "notifications", env=stack.env())
    await jetstream.publish("commons.booking.confirmed", POISON)
    commons_processes("worker", "relay", env=stack.env())
    made = []
    await book_many(await make_sessions(1, capacity=5), 5, made)

    await wait_for_async(lambda: settled(jetstream), timeout=30, interval=0.05, message="the worker to settle")

    assert confirmations_mailed(stack.smtp.sink) == {c.reference: 1 for c in made}
    [letter] = dead_letters(stack)
    assert (letter["consumer"], letter["subject"]) == (NOTIFICATIONS, "commons.booking.confirmed")
    assert (letter["event_id"], letter["payload"], letter["deliveries"]) == (None, POISON.decode(), 1)
    assert "not JSON" in letter["error"]
