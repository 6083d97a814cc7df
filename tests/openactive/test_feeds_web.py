"""The feeds over HTTP: RPDE paging, absolute next URLs, the last page, deleted items, cache headers; the dataset site."""

from __future__ import annotations

import json
import re

from booking.openactive import refresh_feeds
from booking.states import SessionStatus
from booking.tables import Session
from tests.builders import make_session

FEED = "/openactive/feeds/scheduled-sessions"


async def _walk(client, url: str) -> tuple[list[dict], list]:
    """Every page from ``url`` to the last; returns the items and each page's response."""
    items, responses = [], []
    while True:
        response = await client.get(url)
        assert response.status_code == 200
        responses.append(response)
        body = response.json()
        assert body["license"] == "https://creativecommons.org/licenses/by/4.0/"
        assert body["next"].startswith("http://127.0.0.1:8000/openactive/feeds/")
        items += body["items"]
        if not body["items"]:
            assert body["next"].endswith(url.split("127.0.0.1:8000")[-1])  # the last page points to itself
            return items, responses
        url = body["next"].removeprefix("http://127.0.0.1:8000")


async def test_walking_the_feed_gives_each_item_once_in_order_with_rpde_cache_headers(db, client):
    session = await make_session()
    await refresh_feeds("http://127.0.0.1:8000")
    items, responses = await _walk(client, FEED)
    ids = [item["id"] for item in items]
    assert str(session.id) in ids and len(ids) == len(set(ids))
    assert [(i["modified"], i["id"]) for i in items] == sorted((i["modified"], i["id"]) for i in items)
    assert all(r.headers["cache-control"] == "public, max-age=3600" for r in responses[:-1])
    assert responses[-1].headers["cache-control"] == "public, max-age=8"
    assert responses[-1].headers["content-type"].startswith("application/json")


async def test_a_cancelled_session_reappears_at_the_end_as_deleted(db, client):
    session = await make_session()
    await refresh_feeds("http://127.0.0.1:8000")
    items, _ = await _walk(client, FEED)
    last = items[-1]
    await Session.update({Session.status: SessionStatus.CANCELLED.value}).where(Session.id == session.id)
    await refresh_feeds("http://127.0.0.1:8000")
    newer, _ = await _walk(client, f"{FEED}?afterTimestamp={last['modified']}&afterId={last['id']}")
    deleted = [i for i in newer if i["id"] == str(session.id)]
    assert deleted == [
        {"state": "deleted", "kind": "ScheduledSession", "id": str(session.id), "modified": deleted[0]["modified"]}
    ]


async def test_after_timestamp_without_after_id_is_refused(db, client):
    assert (await client.get(f"{FEED}?afterTimestamp=3")).status_code == 400
    assert (await client.get(f"{FEED}?afterTimestamp=abc&afterId=1")).status_code == 400


async def test_the_dataset_site_names_both_feeds_in_json_ld(db, client):
    response = await client.get("/openactive/")
    assert response.status_code == 200
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', response.text, re.S)
    dataset = json.loads(match.group(1))
    assert dataset["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert {d["contentUrl"] for d in dataset["distribution"]} == {
        "http://127.0.0.1:8000/openactive/feeds/session-series",
        "http://127.0.0.1:8000/openactive/feeds/scheduled-sessions",
    }
    assert "<h1>Open data: physical activity sessions</h1>" in response.text
