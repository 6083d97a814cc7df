from __future__ import annotations

import pytest

from events.stream import close, connect, ensure_stream


@pytest.fixture
async def js(nats_server):
    """A JetStream context on the shared test nats-server, with the COMMONS stream in place."""
    if nats_server.process is None or nats_server.process.poll() is not None:
        nats_server.start()  # an earlier test left it stopped
    nc = await connect(nats_server.url, name="test")
    context = nc.jetstream()
    await ensure_stream(context)
    yield context
    await close(nc)
