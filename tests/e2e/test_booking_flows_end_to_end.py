"""The real processes together: web app, relay and notification worker, over HTTP, JetStream and SMTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from events.envelope import decode
from events.stream import close, connect
from events.tables import OutboxEvent
from tests.builders import make_session
from tests.e2e.conftest import wait_until_healthy
from tests.events.support import body_of, stream_messages, unique_email
from tests.support.services import commons_env, free_port, wait_for_async
from tests.web.conftest import submit_booking

pytestmark = pytest.mark.e2e



async def event_for_reference(reference: str) -> dict:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "booking.confirmed")
    return next(e for e in (json.loads(r["payload"]) for r in rows) if e["data"]["reference"] == reference)


async def book_with_the_form(client: httpx.AsyncClient, session_id: int, email: str) -> httpx.Response:
    """The whole journey a browser makes: the form, check your answers, confirm (redirects followed)."""
    response = await submit_booking(client, session_id, name="Mary Seacole", email=email)
    assert "/confirmation" in str(response.url), response.text
    return response


async def test_a_booking_is_published_and_emailed_by_the_real_processes(
    db, data_dir, nats_server, smtp_server, commons_processes
):
    if nats_server.process is None or nats_server.process.poll() is not None:
        nats_server.start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = commons_env(
        db.url, data_dir,
        COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url, COMMONS_BASE_URL=base_url,
    )
    migrated = subprocess.run([sys.executable, "-m", "commons.cli", "migrate"], env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr

    web = commons_processes("serve", "--port", str(port), env=env)
    relay = commons_processes("worker", "relay", env=env)
    notifications = commons_processes("worker", "notifications", env=env)
    wait_until_healthy(base_url, web)

    session = await make_session(capacity=5)
    email = unique_email()
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.post(
            f"/api/v1/sessions/{session.id}/bookings", json={"name": "Ada Lovelace", "email": email, "party_size": 2}
        )
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]

    await wait_for_async(lambda: smtp_server.sink.to(email), timeout=15, message="the confirmation e-mail")
    [message] = smtp_server.sink.to(email)
    body = body_of(message)
    assert reference in message["Subject"] and reference in body
    manage_url = next(line for line in body.splitlines() if line.startswith(f"{base_url}/bookings/manage/{reference}."))
    async with httpx.AsyncClient(timeout=10) as client:
        manage_page = await client.get(manage_url)
    assert manage_page.status_code == 200 and reference in manage_page.text

    event = await event_for_reference(reference)
    nc = await connect(nats_server.url, name="e2e")
    try:
        [on_stream] = await stream_messages(nc.jetstream(), msg_id=event["id"])
    finally:
        await close(nc)
    assert on_stream.subject == "commons.booking.confirmed"
    cloud_event = decode(on_stream.data)
    assert cloud_event["type"] == "booking.confirmed" and cloud_event["data"]["reference"] == reference

    assert relay.signal(signal.SIGTERM) == 0
    assert notifications.signal(signal.SIGTERM) == 0
    assert web.signal(signal.SIGTERM) == 0


async def test_a_booking_made_with_the_html_form_is_emailed(db, data_dir, nats_server, smtp_server, commons_processes):
    if nats_server.process is None or nats_server.process.poll() is not None:
        nats_server.start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = commons_env(
        db.url, data_dir,
        COMMONS_NATS_URL=nats_server.url, COMMONS_SMTP_URL=smtp_server.url, COMMONS_BASE_URL=base_url,
    )
    web = commons_processes("serve", "--port", str(port), env=env)
    relay = commons_processes("worker", "relay", env=env)
    notifications = commons_processes("worker", "notifications", env=env)
    wait_until_healthy(base_url, web)

    session = await make_session(capacity=5)
    email = unique_email()
    async with httpx.AsyncClient(base_url=base_url, timeout=10, follow_redirects=True) as client:
        response = await book_with_the_form(client, session.id, email)
    assert response.status_code == 200, response.text

    # Generous: the relay first publishes whatever other tests left unpublished on this database.
    await wait_for_async(lambda: smtp_server.sink.to(email), timeout=90, message="the confirmation e-mail")
    [message] = smtp_server.sink.to(email)
    assert "Mary Seacole" in body_of(message)

    assert relay.signal(signal.SIGTERM) == 0
    assert notifications.signal(signal.SIGTERM) == 0
    assert web.signal(signal.SIGTERM) == 0
