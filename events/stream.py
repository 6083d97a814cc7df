"""The COMMONS JetStream stream, and how Commons processes connect to NATS."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError

from events.envelope import STREAM_NAME, STREAM_SUBJECTS

log = logging.getLogger(__name__)

#: JetStream drops a second message with the same Nats-Msg-Id inside this window.
DUPLICATE_WINDOW_SECONDS = 120.0


def stream_config() -> StreamConfig:
    return StreamConfig(
        name=STREAM_NAME,
        subjects=list(STREAM_SUBJECTS),
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


async def ensure_stream(js: JetStreamContext) -> StreamInfo:
    """Create the COMMONS stream, or bring its subjects and duplicate window up to date. Idempotent."""
    wanted = stream_config()
    try:
        info = await js.stream_info(STREAM_NAME)
    except NotFoundError:
        log.info("creating JetStream stream %s", STREAM_NAME)
        return await js.add_stream(wanted)
    current = info.config
    if sorted(current.subjects or []) == sorted(wanted.subjects) and current.duplicate_window == wanted.duplicate_window:
        return info
    log.info("updating JetStream stream %s", STREAM_NAME)
    # Storage cannot change on an existing stream; keep everything else the operator may have set.
    return await js.update_stream(current.evolve(subjects=wanted.subjects, duplicate_window=wanted.duplicate_window))


class NatsUnavailable(ConnectionError):
    """The first connection to NATS did not succeed in time."""


async def connect(url: str, *, name: str, timeout: float = 5.0) -> NATS:
    """Connect, then reconnect forever after any later outage.

    The first connection must succeed within ``timeout`` or ``NatsUnavailable`` is raised: a worker
    fails loudly at start-up, the relay retries with back-off.
    """

    async def on_error(exc: Exception) -> None:
        log.warning("NATS (%s): %s", name, exc)

    async def on_disconnected() -> None:
        log.warning("NATS (%s): disconnected from %s", name, url)

    async def on_reconnected() -> None:
        log.info("NATS (%s): reconnected to %s", name, url)

    nc = NATS()
    connecting = nc.connect(
        url,
        name=f"commons-{name}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        error_cb=on_error,
        allow_reconnect=True,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )
    try:
        await asyncio.wait_for(connecting, timeout)
    except asyncio.TimeoutError as exc:
        await nc.close()
        raise NatsUnavailable(f"could not connect to NATS at {url} within {timeout:g}s") from exc
    return nc


async def close(nc: NATS) -> None:
    """Drain if connected (in-flight messages are finished), else close; a connection lost meanwhile is fine."""
    try:
        if nc.is_connected:
            await nc.drain()
        else:
            await nc.close()
    except (ConnectionError, nats.errors.Error, asyncio.TimeoutError) as exc:
        log.debug("NATS close: %s", exc)
