"""Sockets that refuse or never answer, for the SMS backend tests (the provider fakes are one level up)."""

from __future__ import annotations

import socket

import pytest

from tests.support.services import free_port


@pytest.fixture
def refusing_url() -> str:
    """Nothing listens here: the connection is refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_url():
    """A socket that accepts the connection (kernel backlog) and never answers: a read timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
