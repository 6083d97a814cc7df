"""The official OpenActive validators against a real ``commons serve``: zero failures on both feeds and every item.

``@openactive/rpde-validator`` walks each feed over HTTP; ``@openactive/data-model-validator`` checks every
published item and the dataset site's JSON-LD. Both are installed with npm at pinned versions into a cache
outside the repository. openactive.io is not reachable, so the data-model validator's remote-JSON cache is
seeded with the vendored Activity List (booking/openactive_data/activity-list.jsonld).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from booking.openactive import ACTIVITY_LIST, ACTIVITY_LIST_FILE, refresh_feeds
from booking.states import ActivityCategory, SessionStatus
from booking.tables import Session
from tests.builders import make_activity, make_room, make_session
from tests.conftest import IN_CI
from tests.e2e.conftest import commons_processes, wait_until_healthy  # noqa: F401 (fixture)
from tests.support.services import commons_env, free_port

pytestmark = pytest.mark.openactive

PINNED = {"@openactive/data-model-validator": "3.0.3", "@openactive/rpde-validator": "3.0.3571"}
SCRIPTS = Path(__file__).parent / "validators"
FEEDS = ("session-series", "scheduled-sessions")


def _cache_dir() -> Path:
    versions = "_".join(f"{name.split('/')[-1]}-{version}" for name, version in PINNED.items())
    return Path.home() / ".cache" / "commons-openactive" / versions


def _installed(node_modules: Path) -> bool:
    for name, version in PINNED.items():
        package = node_modules / name / "package.json"
        if not package.exists() or json.loads(package.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="session")
def validators(tmp_path_factory) -> dict[str, str]:
    """The pinned validators installed with npm (reused when present) and a remote-JSON cache seeded from our data.

    Returns the environment for ``node``: NODE_PATH naming the installed packages, and the cache directory.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        if IN_CI:
            pytest.fail("node and npm are needed to run the official OpenActive validators.")
        pytest.skip("node and npm are not installed (outside CI only)")
    home = _cache_dir()
    home.mkdir(parents=True, exist_ok=True)
    if not _installed(home / "node_modules"):
        (home / "package.json").write_text(
            json.dumps({"name": "commons-openactive-validators", "private": True, "dependencies": PINNED}, indent=2)
        )
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=home, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"npm install failed:\n{result.stdout}\n{result.stderr}"
        assert _installed(home / "node_modules"), f"npm did not install {PINNED}"
    remote_json = tmp_path_factory.mktemp("openactive-remote-json")
    _seed_remote_json(remote_json, ACTIVITY_LIST, json.loads(ACTIVITY_LIST_FILE.read_text(encoding="utf-8")))
    return {"NODE_PATH": str(home / "node_modules"), "remote_json": str(remote_json)}


def _seed_remote_json(cache: Path, url: str, document: dict) -> None:
    """Write ``document`` where the data-model validator looks for ``url``: ``sha256(url).json``, fetched just now."""
    entry = {
        "errorCode": "error_none",
        "statusCode": 200,
        "data": document,
        "url": url,
        "contentType": "application/ld+json",
        "exception": None,
        "fetchTime": int(time.time() * 1000),
    }
    (cache / f"{hashlib.sha256(url.encode()).hexdigest()}.json").write_text(json.dumps(entry))


def _node(validators: dict[str, str], script: str, *args: str, stdin: str = "") -> dict | list:
    result = subprocess.run(
        ["node", str(SCRIPTS / script), *args],
        input=stdin,
        env={"PATH": os.environ["PATH"], "NODE_PATH": validators["NODE_PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"node {script} failed:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture
async def server(db, data_dir, nats_server, commons_processes):  # noqa: F811 (fixture)
    """A real ``commons serve`` whose feeds hold physical sessions, a deleted (cancelled) one, and no job club."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    room = await make_room(step_free_access=True, hearing_loop=True)  # accessibilitySupport is validated too
    titles = ["Chair yoga", "Gentle yoga", "Health walk from the library", "Strength and balance"]
    physical = [
        await make_session(
            room=room, activity=await make_activity(title=title), starts_in=timedelta(days=2, hours=2 * n)
        )
        for n, title in enumerate(titles)
    ]
    job_club = await make_session(
        room=room,
        activity=await make_activity(title="Job club", category=ActivityCategory.JOB_CLUB.value),
        starts_in=timedelta(days=3),
    )
    cancelled = await make_session(activity=await make_activity(title="Yoga in the park"), starts_in=timedelta(days=3))
    await refresh_feeds(base_url)
    await Session.update({Session.status: SessionStatus.CANCELLED.value}).where(Session.id == cancelled.id)
    await refresh_feeds(base_url)
    env = commons_env(db.url, data_dir, COMMONS_NATS_URL=nats_server.url, COMMONS_BASE_URL=base_url)
    web = commons_processes("serve", "--port", str(port), env=env)
    wait_until_healthy(base_url, web)
    return {"base_url": base_url, "physical": physical, "job_club": job_club, "cancelled": cancelled}


def _walk(base_url: str, kind: str) -> list[dict]:
    """Every item of one feed, following ``next`` to the last page."""
    items, url = [], f"{base_url}/openactive/feeds/{kind}"
    while True:
        page = httpx.get(url, timeout=10).json()
        items += page["items"]
        if not page["items"]:
            return items
        url = page["next"]


def _failures(findings: list[dict]) -> list[str]:
    """Failures, one line each; warnings and suggestions are printed."""
    for finding in findings:
        if finding["severity"] != "failure":
            where = finding.get("path") or finding.get("page", "")
            print(f"{finding['severity']}: {finding['type']} {where}: {finding['message']}")
    return [
        f"{finding['type']} {finding.get('path', '')}: {finding['message'].splitlines()[0]}"
        for finding in findings
        if finding["severity"] == "failure"
    ]


@pytest.mark.parametrize("kind", FEEDS)
async def test_the_rpde_validator_walks_each_feed_with_zero_failures(validators, server, kind):
    report = _node(validators, "rpde.js", f"{server['base_url']}/openactive/feeds/{kind}")
    # The first page, the page after it (the last, empty), and the one the validator builds a year ahead.
    assert len(report["pages"]) >= 3
    failures = _failures(report["findings"])
    assert failures == [], json.dumps(failures, indent=1)


async def test_the_data_model_validator_passes_every_item_and_the_dataset_site(validators, server):
    base_url = server["base_url"]
    items = {kind: _walk(base_url, kind) for kind in FEEDS}
    sessions = {item["id"]: item for item in items["scheduled-sessions"]}
    assert all(sessions[str(s.id)]["state"] == "updated" for s in server["physical"])
    assert sessions[str(server["cancelled"].id)]["state"] == "deleted"
    assert str(server["job_club"].id) not in sessions
    labels = {item["data"]["activity"][0]["prefLabel"] for item in items["session-series"] if "data" in item}
    assert {"Chair Yoga", "Yoga", "Walking", "Group Exercise"} <= labels
    supported = {c["prefLabel"] for item in items["session-series"] for c in item.get("data", {}).get("accessibilitySupport", [])}
    assert supported == {"Hearing impairment", "Physical impairment"}

    html = httpx.get(f"{base_url}/openactive/", timeout=10).text
    dataset = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    documents = [item["data"] for feed in items.values() for item in feed if item["state"] == "updated"]
    documents.append(dataset)
    results = _node(validators, "data-model.js", validators["remote_json"], stdin=json.dumps(documents))
    assert len(results) == len(documents)
    failures = {
        document["@id"]: found
        for document, findings in zip(documents, results, strict=True)
        if (found := _failures(findings))
    }
    assert failures == {}, json.dumps(failures, indent=1)
