"""`.ci/audit_dependencies.py` against a local server speaking PyPI's JSON API (project endpoint)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import distributions
from pathlib import Path

import pytest

from tests.support.services import free_port

SCRIPT = Path(__file__).parents[2] / ".ci" / "audit_dependencies.py"
VULNERABLE, OUTDATED = "httpx", "idna"  #: installed in the test environment


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


INSTALLED = {_canonical(d.metadata["Name"]): d.version for d in distributions()}


class FakePyPI(BaseHTTPRequestHandler):
    """``/pypi/<name>/json``: the installed version as latest, with the vulnerabilities the test sets."""

    projects: dict[str, dict] = {}

    def do_GET(self) -> None:
        match = re.fullmatch(r"/pypi/([^/]+)/json", self.path)
        project = self.projects.get(match.group(1)) if match else None
        if project is None:
            self.send_error(404)
            return
        body = json.dumps(project).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def pypi() -> Iterator[tuple[str, dict[str, dict]]]:
    projects = {
        name: {"info": {"version": version}, "vulnerabilities": []}
        for name, version in INSTALLED.items()
    }
    handler = type("Handler", (FakePyPI,), {"projects": projects})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", projects
    finally:
        server.shutdown()
        server.server_close()


def _audit(url: str, tmp_path: Path, exceptions: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "exceptions.txt").write_text(exceptions)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--pypi-url", url, "--exceptions", str(tmp_path / "exceptions.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_clean_environment_passes_with_every_package_audited(pypi, tmp_path):
    url, _ = pypi
    result = _audit(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    audited = len([name for name in INSTALLED if name != "commons"])
    assert f"{audited} of {audited} packages audited" in result.stdout
    assert "0 known vulnerabilities" in result.stdout


def test_a_known_vulnerability_fails_the_check_and_a_withdrawn_one_does_not(pypi, tmp_path):
    url, projects = pypi
    projects[VULNERABLE]["vulnerabilities"] = [
        {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001"], "fixed_in": ["99.0"], "withdrawn": None},
        {"id": "PYSEC-2099-2", "aliases": [], "fixed_in": [], "withdrawn": "2099-01-01T00:00:00Z"},
    ]
    result = _audit(url, tmp_path)
    assert result.returncode == 1
    assert f"VULNERABLE {VULNERABLE} {INSTALLED[VULNERABLE]}: PYSEC-2099-1, CVE-2099-0001 (fixed in 99.0)" in result.stdout
    assert "PYSEC-2099-2" not in result.stdout
    assert "1 known vulnerabilities" in result.stdout


def test_a_package_that_is_not_the_latest_release_cannot_be_audited_unless_excepted(pypi, tmp_path):
    url, projects = pypi
    projects[OUTDATED]["info"]["version"] = "999.0"
    projects[OUTDATED]["vulnerabilities"] = [{"id": "PYSEC-2099-3", "aliases": [], "fixed_in": [], "withdrawn": None}]
    result = _audit(url, tmp_path)
    assert result.returncode == 1
    assert f"NOT AUDITED {OUTDATED}: installed {INSTALLED[OUTDATED]}, PyPI's latest is 999.0" in result.stdout
    assert "PYSEC-2099-3" not in result.stdout  # the latest release's records say nothing about ours
    excepted = _audit(url, tmp_path, exceptions=f"# why\n{OUTDATED}  pinned by a test tool\n")
    assert excepted.returncode == 0, excepted.stdout
    assert f"excepted {OUTDATED} {INSTALLED[OUTDATED]}: pinned by a test tool" in excepted.stdout


def test_a_package_pypi_does_not_know_is_not_audited(pypi, tmp_path):
    url, projects = pypi
    del projects[OUTDATED]
    result = _audit(url, tmp_path)
    assert result.returncode == 1
    assert f"NOT AUDITED {OUTDATED}: PyPI answered 404" in result.stdout


def test_an_unreachable_pypi_audits_nothing_and_says_so(tmp_path):
    result = _audit(f"http://127.0.0.1:{free_port()}", tmp_path)
    assert result.returncode == 2
    assert "nothing was audited" in result.stderr
