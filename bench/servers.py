"""Start and stop the servers under test as subprocesses on free ports, and wait until they answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT = 30.0
#: The load generator shares the two cores with the server and PostgreSQL, so its own cost per request is
#: taken from what it measures. aiohttp's client costs about a third of httpx's per request on this machine
#: (the static ceiling at 16 clients: about 3,300 req/s with aiohttp, 980 with httpx, measured together), so
#: every HTTP load here uses it: the figures are the server's, not the client's (docs/decisions.md).
TIMEOUT = aiohttp.ClientTimeout(total=120)


@dataclass(frozen=True)
class Reply:
    status_code: int
    text: str
    headers: Mapping[str, str]


class HttpClient:
    """One simulated resident's browser: one connection of its own, its own cookies, no redirects followed."""

    def __init__(self, base_url: str | None = None) -> None:
        self.requests = 0  #: how many requests this browser has made
        self._session = aiohttp.ClientSession(
            base_url=base_url,
            connector=aiohttp.TCPConnector(limit=1),
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1, as a browser keeps them
            timeout=TIMEOUT,
        )

    async def get(self, url: str) -> Reply:
        self.requests += 1
        async with self._session.get(url, allow_redirects=False) as response:
            return Reply(response.status, await response.text(), response.headers)

    async def post(self, url: str, data: dict[str, str]) -> Reply:
        self.requests += 1
        async with self._session.post(url, data=data, allow_redirects=False) as response:
            return Reply(response.status, await response.text(), response.headers)

    async def post_json(self, url: str, body: dict) -> Reply:
        self.requests += 1
        async with self._session.post(url, json=body, allow_redirects=False) as response:
            return Reply(response.status, await response.text(), response.headers)

    async def aclose(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


def http_client(base_url: str | None = None) -> HttpClient:
    return HttpClient(base_url)


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
            with urllib.request.urlopen(server.url + ready_path, timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:  # refused while starting (urllib's URLError is an OSError)
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
