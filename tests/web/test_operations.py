"""Health probes and the development mailbox."""

from __future__ import annotations

from datetime import UTC, datetime

from notifications.tables import DevMessage
from tests.support.services import free_port
from tests.web.conftest import browser, web_settings


async def test_readyz_is_ready_with_database_and_nats(db, data_dir, nats_server):
    async with browser(web_settings(db, data_dir, COMMONS_NATS_URL=nats_server.url)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "nats": "ok"}


async def test_readyz_is_503_when_nats_is_unreachable(db, data_dir):
    closed = f"nats://127.0.0.1:{free_port()}"
    async with browser(web_settings(db, data_dir, COMMONS_NATS_URL=closed)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "nats": "unavailable"}


async def test_readyz_is_503_without_a_nats_url(client):
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["nats"] == "unavailable"


async def test_dev_mailbox_lists_and_shows_messages(client):
    message = DevMessage(
        recipient="resident@example.com",
        subject="Your booking <K7P-3QX>",
        text_body="Hello Ada,\nYour booking is confirmed.",
        html_body="<p onclick=\"alert(1)\">Hello Ada</p>",
        created_at=datetime.now(UTC),
    )
    await message.save()

    inbox = await client.get("/dev/mailbox")
    assert inbox.status_code == 200
    assert f'href="/dev/mailbox/{message.id}"' in inbox.text
    assert "Your booking &lt;K7P-3QX&gt;" in inbox.text

    shown = await client.get(f"/dev/mailbox/{message.id}")
    assert shown.status_code == 200
    assert "Hello Ada,\nYour booking is confirmed." in shown.text
    assert "&lt;p onclick=" in shown.text and "<p onclick" not in shown.text
    assert (await client.get("/dev/mailbox/999999999")).status_code == 404


async def test_dev_mailbox_is_not_mounted_when_smtp_is_configured(db, data_dir):
    settings = web_settings(db, data_dir, COMMONS_SMTP_URL="smtp://127.0.0.1:2525")
    assert not settings.dev_mailbox_enabled
    async with browser(settings) as client:
        response = await client.get("/dev/mailbox")
    assert response.status_code == 404
