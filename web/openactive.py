"""OpenActive open data: the RPDE feeds of physical-activity sessions and the dataset site that names them."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.exceptions import ValidationException
from litestar.response import Template

from booking.openactive import LICENSE, FeedKind, read_feed_page

FEED_MEDIA_TYPE = "application/json"
#: RPDE: pages with items may be cached for an hour; the last page only briefly, so new items show quickly
ITEMS_CACHE_CONTROL = "public, max-age=3600"
LAST_PAGE_CACHE_CONTROL = "public, max-age=8"
FEED_PATH = "/openactive/feeds/{kind}"
FEED_NAMES = {FeedKind.SESSION_SERIES: "SessionSeries", FeedKind.SCHEDULED_SESSIONS: "ScheduledSession"}
MAX_ID_LENGTH = 60


def _base_url(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _feed_url(request: Request, kind: FeedKind, after: tuple[int, str] | None) -> str:
    url = _base_url(request) + FEED_PATH.format(kind=kind.value)
    if after is None:
        return url
    return f"{url}?{urlencode({'afterTimestamp': after[0], 'afterId': after[1]})}"


def _after(request: Request) -> tuple[int, str] | None:
    """``afterTimestamp`` and ``afterId`` from the query, both or neither."""
    timestamp = request.query_params.get("afterTimestamp")
    item_id = request.query_params.get("afterId")
    if timestamp is None and item_id is None:
        return None
    if timestamp is None or item_id is None or not timestamp.isdigit() or len(item_id) > MAX_ID_LENGTH:
        raise ValidationException("afterTimestamp must be a whole number and come with afterId.")
    return int(timestamp), item_id


async def _feed(request: Request, kind: FeedKind) -> Response:
    after = _after(request)
    page = await read_feed_page(kind, *(after or (None, None)))
    last_page = page.next_after is None
    body = {
        "next": _feed_url(request, kind, after if last_page else page.next_after),
        "items": page.items,
        "license": LICENSE,
    }
    return Response(
        content=body,
        media_type=FEED_MEDIA_TYPE,
        headers={"Cache-Control": LAST_PAGE_CACHE_CONTROL if last_page else ITEMS_CACHE_CONTROL},
    )


def dataset(request: Request) -> dict:
    """The dataset site's JSON-LD (OpenActive Dataset Site specification)."""
    base = _base_url(request)
    return {
        # The OpenActive context alone: it maps schema.org terms, and the data-model validator requires it first.
        "@context": "https://openactive.io/",
        "@type": "Dataset",
        "@id": f"{base}/openactive/",
        "url": f"{base}/openactive/",
        "name": "Commons physical activity sessions",
        "description": "Free physical-activity sessions at Commons venues, with places left, as OpenActive open data.",
        "keywords": ["Sessions", "Activities", "Libraries", "OpenActive"],
        "license": LICENSE,
        "inLanguage": ["en-GB"],
        "schemaVersion": "https://openactive.io/modelling-opportunity-data/2.0/",
        "publisher": {"@type": "Organization", "name": "Commons", "url": f"{base}/"},
        "distribution": [
            {
                "@type": "DataDownload",
                "name": FEED_NAMES[kind],
                "additionalType": f"https://openactive.io/{FEED_NAMES[kind]}",
                "encodingFormat": "application/vnd.openactive.rpde+json; version=1",
                "contentUrl": _feed_url(request, kind, None),
                "identifier": kind.value,
            }
            for kind in FeedKind
        ],
    }


class OpenActiveController(Controller):
    path = "/openactive"
    include_in_schema = False

    @get("/", name="openactive_dataset")
    async def dataset_site(self, request: Request) -> Template:
        data = dataset(request)
        # "<" escaped so no text in the data can end the script element early.
        json_ld = json.dumps(data, indent=2, ensure_ascii=False).replace("<", "\\u003c")
        return Template(template_name="openactive/dataset.html", context={"dataset": data, "json_ld": json_ld})

    @get("/feeds/session-series", name="openactive_session_series")
    async def session_series(self, request: Request) -> Response:
        return await _feed(request, FeedKind.SESSION_SERIES)

    @get("/feeds/scheduled-sessions", name="openactive_scheduled_sessions")
    async def scheduled_sessions(self, request: Request) -> Response:
        return await _feed(request, FeedKind.SCHEDULED_SESSIONS)
