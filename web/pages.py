"""Finding things to do: the home page, What's on (a plain GET form that htmx improves), activities and venues."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Response
from litestar.utils.scope.state import ScopeState

from booking.listings import get_activity_page, get_venue_page, list_venue_choices
from booking.search import (
    ACCESS_NEEDS,
    DAYS,
    DEFAULT_DISTANCE,
    DISTANCES,
    TIME_LABELS,
    SearchFilters,
    is_slug,
    parse_filters,
    search_sessions,
)
from booking.states import ActivityCategory
from web.listing_cache import cache_of
from web.templating import render_page

HOME_SESSIONS = 8
VENUE_SESSIONS = 20
ACTIVITY_SESSIONS = 20
LOCAL_ZONE = ZoneInfo("Europe/London")  #: what "today" means for date filters
RESULTS_TARGET = "results"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def _kept_input(request: HTMXRequest) -> tuple[dict[str, str], dict[str, set[str]]]:
    """What the resident entered, to show again: the first value of each field, and every ticked value."""
    values: dict[str, str] = {}
    ticked: dict[str, set[str]] = {}
    for key in request.query_params:
        if len(key) > 20:
            continue
        items = [_UNPRINTABLE.sub("", v)[:100] for v in request.query_params.getall(key)]
        values[key] = items[0] if items else ""
        ticked[key] = set(items)
    return values, ticked


def _slug_or_404(slug: str) -> str:
    if not is_slug(slug):
        raise NotFoundException()
    return slug


def _filter_choices() -> dict:
    return {
        "categories": [(c.value, c.label) for c in ActivityCategory],
        "days": [(day, day.capitalize()) for day in DAYS],
        "times": list(TIME_LABELS.items()),
        "access_needs": [(key, label) for key, (label, _) in ACCESS_NEEDS.items()],
        "distances": DISTANCES,
        "default_distance": DEFAULT_DISTANCE,
    }


async def shared_page(
    request: Request, key: Hashable, render: Callable[[], Awaitable[bytes]], vary_also: tuple[str, ...] = ()
) -> Response:
    """A page that is the same for everyone who asks for it: kept between changes where that is possible
    (web/listing_cache.py), and sent gzipped as kept when the browser takes gzip. Such pages post nothing,
    so they carry no CSRF token (``shared_page`` in base.html) and skip the CSRF middleware (web/security.py).
    ``vary_also``: request headers besides Accept-Encoding the page depends on, for caches on the way."""
    cache = cache_of(request.app)
    if cache is None:  # Litestar's compression adds Accept-Encoding to Vary when it compresses
        headers = {"vary": ", ".join(vary_also)} if vary_also else None
        return Response(content=await render(), media_type=MediaType.HTML, headers=headers)
    page = await cache.page_for(key, render)
    vary = ", ".join(("Accept-Encoding", *vary_also))
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return Response(content=page.html, media_type=MediaType.HTML, headers={"vary": vary})
    # Already compressed: marked as a cached response, which Litestar's compression passes through.
    ScopeState.from_scope(request.scope).is_cached = True
    return Response(content=page.gzipped, media_type=MediaType.HTML, headers={"content-encoding": "gzip", "vary": vary})


class PagesController(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, request: Request) -> Response:
        async def render() -> bytes:
            results = await search_sessions(SearchFilters(), datetime.now(UTC), page_size=HOME_SESSIONS)
            categories = [(c.value, c.label) for c in ActivityCategory]
            context = {"results": results, "categories": categories, "shared_page": True}
            return render_page(request, "home.html", context)

        return await shared_page(request, ("home",), render)

    @get("/whats-on", name="whats_on")
    async def whats_on(self, request: HTMXRequest) -> Response:
        """One page per search (the query string), and the results alone for htmx."""
        partial = (
            bool(request.htmx) and not request.htmx.history_restore_request and request.htmx.target == RESULTS_TARGET
        )
        key = ("whats_on", partial, request.scope["query_string"])
        render = lambda: self._render_whats_on(request, partial)  # noqa: E731
        return await shared_page(request, key, render, vary_also=("HX-Request", "HX-Target"))

    @staticmethod
    async def _render_whats_on(request: HTMXRequest, partial: bool) -> bytes:
        now = datetime.now(UTC)
        params = {key: request.query_params.getall(key) for key in request.query_params}
        filters, errors = parse_filters(params, today=now.astimezone(LOCAL_ZONE).date())
        results = await search_sessions(filters, now)
        form, ticked = _kept_input(request)
        context = {
            "filters": filters,
            "results": results,
            "errors": errors,
            "form": form,
            "ticked": ticked,
            "venues": await list_venue_choices(),
            "partial": partial,
            "shared_page": True,
            **_filter_choices(),
        }
        return render_page(request, "_results.html" if partial else "whats_on.html", context)

    @get("/activities/{slug:str}", name="activity")
    async def activity(self, request: Request, slug: FromPath[str]) -> Response:
        slug = _slug_or_404(slug)

        async def render() -> bytes:
            activity = await get_activity_page(slug)
            if activity is None:
                raise NotFoundException()
            filters = SearchFilters(activity=activity.slug)
            results = await search_sessions(filters, datetime.now(UTC), page_size=ACTIVITY_SESSIONS)
            context = {"activity": activity, "results": results, "shared_page": True}
            return render_page(request, "activity.html", context)

        return await shared_page(request, ("activity", slug), render)

    @get("/venues/{slug:str}", name="venue")
    async def venue(self, request: Request, slug: FromPath[str]) -> Response:
        slug = _slug_or_404(slug)

        async def render() -> bytes:
            venue = await get_venue_page(slug)
            if venue is None:
                raise NotFoundException()
            results = await search_sessions(
                SearchFilters(venue=venue.slug), datetime.now(UTC), page_size=VENUE_SESSIONS
            )
            return render_page(request, "venue.html", {"venue": venue, "results": results, "shared_page": True})

        return await shared_page(request, ("venue", slug), render)
