"""Finding things to do: the home page, What's on (a plain GET form that htmx improves), activities and venues."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Template

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
    async def whats_on(self, request: HTMXRequest) -> Template:
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
            **_filter_choices(),
        }
        partial = (
            bool(request.htmx) and not request.htmx.history_restore_request and request.htmx.target == RESULTS_TARGET
        )
        context["partial"] = partial
        return HTMXTemplate(template_name="_results.html" if partial else "whats_on.html", context=context)

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
