"""A real browser (Debian chromium through Playwright) against ``commons up`` on its embedded defaults."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, async_playwright

from tests.support.services import commons_env, free_port, wait_for

CHROMIUM = os.environ.get("COMMONS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def commons_up_dir(tmp_path_factory) -> Path:
    """The data directory ``commons up`` runs in; its database is ``commons.sqlite3`` there."""
    return tmp_path_factory.mktemp("commons-up")


@pytest.fixture(scope="module")
def commons_up(commons_up_dir):
    """``commons up`` with no configuration beyond a fresh data directory: SQLite, bundled NATS, dev mailbox."""
    data_dir = commons_up_dir
    port = free_port()
    env = commons_env(f"sqlite:///{data_dir}/commons.sqlite3", data_dir, COMMONS_BASE_URL=f"http://127.0.0.1:{port}")
    env.pop("COMMONS_DATABASE_URL")  # the embedded default, exactly as `make run` uses it
    log_path = data_dir / "commons-up.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "commons.cli", "up", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"commons up exited early:\n{log_path.read_text()}")
        try:
            return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, timeout=90, interval=0.2, message="commons up to be ready")
    yield base_url
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="module")
async def browser() -> Browser:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make test does this)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


AXE = Axe()  #: axe-playwright-python, with the axe-core it ships
AXE_RULES = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}


async def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.0/2.1/2.2 A and AA rules, and best practice) on the page as it is now."""
    results = await AXE.run(page, options=AXE_RULES)
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5],
        }
        for violation in results.response["violations"]
    ]
