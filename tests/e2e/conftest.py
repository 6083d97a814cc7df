"""Real ``commons`` processes for end-to-end tests, each logging to a file shown when a test fails."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.services import wait_for


class CommonsProcess:
    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "commons.cli", *args], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` and wait for the process to exit; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"commons {' '.join(self.args)} ignored {signal.Signals(sig).name}:\n{self.log}") from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture
def commons_processes(tmp_path, request):
    """Start ``commons`` subcommands; all are killed at the end, and their logs printed if the test failed."""
    started: list[CommonsProcess] = []

    def start(*args: str, env: dict[str, str]) -> CommonsProcess:
        process = CommonsProcess(list(args), env, tmp_path / f"commons-{len(started)}-{args[0]}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
        print(f"\n----- commons {' '.join(process.args)} (exit {process.process.returncode}) -----\n{process.log}")


def wait_until_healthy(base_url: str, process: CommonsProcess, path: str = "/healthz", timeout: float = 60) -> None:
    def healthy() -> bool:
        if process.process.poll() is not None:
            raise AssertionError(f"commons {' '.join(process.args)} exited early:\n{process.log}")
        try:
            return httpx.get(base_url + path, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, timeout=timeout, interval=0.1, message=f"{base_url}{path}")
