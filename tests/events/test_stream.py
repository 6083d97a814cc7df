"""The COMMONS stream is created once and left alone after that."""

from nats.js.api import StorageType

from events.envelope import STREAM_NAME
from events.stream import DUPLICATE_WINDOW_SECONDS, ensure_stream


async def test_ensure_stream_is_idempotent_and_configured(js):
    first = await ensure_stream(js)
    second = await ensure_stream(js)

    assert first.config.name == second.config.name == STREAM_NAME
    assert second.config.subjects == ["commons.>"]
    assert second.config.storage == StorageType.FILE
    assert second.config.duplicate_window == DUPLICATE_WINDOW_SECONDS


async def test_ensure_stream_restores_a_changed_duplicate_window(js):
    info = await js.stream_info(STREAM_NAME)
    await js.update_stream(info.config.evolve(duplicate_window=30.0))

    restored = await ensure_stream(js)

    assert restored.config.duplicate_window == DUPLICATE_WINDOW_SECONDS
