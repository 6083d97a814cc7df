"""Finding things to do: the home page, What's on (a plain GET form that htmx improves), activities and venues."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from litestar import Controller, get
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Response, Template
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


class PagesController(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self) -> Template:
        results = await search_sessions(SearchFilters(), datetime.now(UTC), page_size=HOME_SESSIONS)
        return Template(
            template_name="home.html",
            context={"results": results, "categories": [(c.value, c.label) for c in ActivityCategory]},
        )

    @get("/whats-on", name="whats_on")
    async def whats_on(self, request: HTMXRequest) -> Response:
        """The same for everyone who asks the same question, so kept while nothing under it changes
        (web/listing_cache.py); no CSRF token in it, as it has nothing to post."""
        partial = (
            bool(request.htmx) and not request.htmx.history_restore_request and request.htmx.target == RESULTS_TARGET
        )
        cache = cache_of(request.app)
        if cache is None:
            return Response(content=await self._render_whats_on(request, partial), media_type=MediaType.HTML)
        key = (partial, request.scope["query_string"])
        page = await cache.page_for(key, lambda: self._render_whats_on(request, partial))
        if "gzip" not in request.headers.get("accept-encoding", ""):
            return Response(content=page.html, media_type=MediaType.HTML)
        # Already compressed: marked as a cached response, which Litestar's compression passes through.
        ScopeState.from_scope(request.scope).is_cached = True
        return Response(
            content=page.gzipped,
            media_type=MediaType.HTML,
            headers={"content-encoding": "gzip", "vary": "Accept-Encoding"},
        )

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
    async def activity(self, slug: FromPath[str]) -> Template:
        activity = await get_activity_page(_slug_or_404(slug))
        if activity is None:
            raise NotFoundException()
        filters = SearchFilters(activity=activity.slug)
        results = await search_sessions(filters, datetime.now(UTC), page_size=ACTIVITY_SESSIONS)
        return Template(template_name="activity.html", context={"activity": activity, "results": results})

    @get("/venues/{slug:str}", name="venue")
    async def venue(self, slug: FromPath[str]) -> Template:
        venue = await get_venue_page(_slug_or_404(slug))
        if venue is None:
            raise NotFoundException()
        results = await search_sessions(SearchFilters(venue=venue.slug), datetime.now(UTC), page_size=VENUE_SESSIONS)
        return Template(template_name="venue.html", context={"venue": venue, "results": results})
