"""Start and stop the servers under test as subprocesses on free ports, and wait until they answer."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT = 30.0
#: One TLS context for every client: httpx builds a new one per client otherwise (~90 ms of CPU each,
#: which with 256 simulated residents would measure the load generator, not the server). All URLs are http.
_TLS = ssl.create_default_context()


def http_client(**options) -> httpx.AsyncClient:
    """One simulated resident's browser: its own connections and cookies."""
    return httpx.AsyncClient(verify=_TLS, timeout=120, **options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(command: list[str], env: dict[str, str], log: Path, ready_path: str) -> Server:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {process.returncode}; see {log}")
        try:
            if httpx.get(server.url + ready_path, timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling a starting process: there is nothing to wait on but the port
    server.stop()
    raise RuntimeError(f"{command[0]} did not answer within {READY_TIMEOUT:.0f} s; see {log}")


def start_commons(env: dict[str, str], log: Path) -> Server:
    """``commons serve``: the real web app, one process, exactly as deployed."""
    return _start([str(BIN / "commons"), "serve", "--host", "127.0.0.1"], env, log, "/healthz")


def start_static(log: Path) -> Server:
    """The static-template ceiling app (``bench/static_app.py``)."""
    return _start([sys.executable, "-m", "bench.static_app"], dict(os.environ), log, "/")
