"""What's on: the resident's filters, checked value by value, and the one search that applies them in SQL.

Day of the week and time of day mean the venue's local wall-clock time. SQLite has no time zones, so
instead of computing local time per row, the filters become a list of UTC intervals (one per matching
local day, or part of a day) for each venue time zone, and SQL keeps sessions that start inside one.
Searches cover the next ``MAX_DAYS_AHEAD`` days, which keeps that list short.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw

from booking.postcodes import PostcodeError, centroid, distance_miles, district_of, normalise
from booking.queries import _SESSION_COLUMNS, SessionView, _view
from booking.states import ActivityCategory, SessionStatus
from booking.tables import Session, Venue
from booking.validation import is_digits
from commons.compiled import Bind, compiled

MAX_DAYS_AHEAD = 365
PAGE_SIZE = 20
DISTANCES = (1, 3, 5, 10)  #: miles
DEFAULT_DISTANCE = 5
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Local start hour ranges [from, to): morning before noon, afternoon until 5pm, evening after.
TIMES_OF_DAY = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}
TIME_LABELS = {
    "morning": "Morning (before 12 noon)",
    "afternoon": "Afternoon (12 noon to 5pm)",
    "evening": "Evening (after 5pm)",
}
ACCESS_NEEDS = {
    "step_free": ("Step-free access", Session.room.step_free_access),
    "hearing_loop": ("Hearing loop", Session.room.hearing_loop),
    "accessible_toilet": ("Accessible toilet", Session.room.accessible_toilet),
}
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$")
DATE_EXAMPLE = "2027-03-03"


def is_slug(text: str) -> bool:
    return bool(SLUG.match(text or ""))


@dataclass(frozen=True)
class SearchFilters:
    category: str | None = None
    venue: str | None = None  #: venue slug
    activity: str | None = None  #: activity slug (the activity page; not in the form)
    near: str | None = None  #: the postcode as typed, normalised ("WS12 1AA" or "WS12")
    within: int = DEFAULT_DISTANCE  #: miles from ``near``
    days: tuple[str, ...] = ()  #: zero or more of DAYS
    date_from: date | None = None
    date_to: date | None = None
    times: tuple[str, ...] = ()  #: zero or more of TIMES_OF_DAY
    access: tuple[str, ...] = ()  #: zero or more of ACCESS_NEEDS
    has_places: bool = False
    page: int = 1

    @property
    def district(self) -> str | None:
        return district_of(self.near) if self.near else None

    def query_string(self, page: int | None = None) -> str:
        """The filters as a What's on URL query, for links that keep them (pagination)."""
        pairs: list[tuple[str, str]] = []
        for name, value in (("category", self.category), ("venue", self.venue), ("near", self.near)):
            if value:
                pairs.append((name, value))
        if self.near:
            pairs.append(("within", str(self.within)))
        pairs += [("day", day) for day in self.days]
        if self.date_from:
            pairs.append(("from", self.date_from.isoformat()))
        if self.date_to:
            pairs.append(("to", self.date_to.isoformat()))
        pairs += [("time", t) for t in self.times]
        pairs += [("access", a) for a in self.access]
        if self.has_places:
            pairs.append(("has_places", "yes"))
        if page and page > 1:
            pairs.append(("page", str(page)))
        return urlencode(pairs)


Params = Mapping[str, str | Sequence[str]]


def _values(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def _first(params: Params, name: str) -> str:
    values = _values(params, name)
    return values[0] if values else ""


def _parse_date(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError
    return date.fromisoformat(text)


def parse_filters(params: Params, today: date) -> tuple[SearchFilters, dict[str, str]]:
    """Check every value; a bad one gets a message for its field and is left out of the search."""
    errors: dict[str, str] = {}
    values: dict = {}

    category = _first(params, "category")
    if category:
        if category in {c.value for c in ActivityCategory}:
            values["category"] = category
        else:
            errors["category"] = "Choose a type of activity from the list"

    venue = _first(params, "venue")
    if venue:
        if is_slug(venue):
            values["venue"] = venue
        else:
            errors["venue"] = "Choose a venue from the list"

    near = _first(params, "near")
    if near:
        try:
            district_of(near)
            values["near"] = normalise(near)
        except PostcodeError as error:
            errors["near"] = error.message

    within = _first(params, "within")
    if within:
        if within in {str(d) for d in DISTANCES}:
            values["within"] = int(within)
        else:
            errors["within"] = "Choose a distance from the list"

    days = _values(params, "day")
    if any(day not in DAYS for day in days):
        errors["day"] = "Choose days of the week from the list"
    values["days"] = tuple(day for day in DAYS if day in days)

    times = _values(params, "time")
    if any(t not in TIMES_OF_DAY for t in times):
        errors["time"] = "Choose morning, afternoon or evening"
    values["times"] = tuple(t for t in TIMES_OF_DAY if t in times)

    access = _values(params, "access")
    if any(a not in ACCESS_NEEDS for a in access):
        errors["access"] = "Choose access needs from the list"
    values["access"] = tuple(a for a in ACCESS_NEEDS if a in access)

    has_places = _first(params, "has_places")
    if has_places:
        if has_places == "yes":
            values["has_places"] = True
        else:
            errors["has_places"] = "Tick the box to see only sessions with places left, or leave it empty"

    last_day = today + timedelta(days=MAX_DAYS_AHEAD)
    for name, key, label in (("from", "date_from", "start"), ("to", "date_to", "end")):
        text = _first(params, name)
        if not text:
            continue
        try:
            day = _parse_date(text)
        except ValueError:
            errors[name] = f"The {label} date must be a real date, like {DATE_EXAMPLE}"
            continue
        if day > last_day:
            errors[name] = f"The {label} date must be within the next 12 months"
        elif name == "to" and day < today:
            errors[name] = "The end date must be today or in the future"
        else:
            values[key] = day
    if values.get("date_from") and values.get("date_to") and values["date_to"] < values["date_from"]:
        errors["to"] = "The end date must be the same as or after the start date"
        del values["date_to"]

    page = _first(params, "page")
    # Pages only come from our own links: a strange page number quietly means the first page.
    values["page"] = int(page) if is_digits(page) and 1 <= int(page) <= 10_000 else 1
    return SearchFilters(**values), errors


@dataclass(frozen=True)
class SearchResults:
    sessions: list[SessionView]
    total: int
    page: int
    pages: int
    page_size: int = PAGE_SIZE
    distances: dict[str, float] = field(default_factory=dict)  #: venue slug -> miles from ``near``

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.total else 0

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.sessions) - 1 if self.total else 0


@dataclass(frozen=True)
class _VenuePlace:
    id: int
    slug: str
    latitude: float | None
    longitude: float | None
    time_zone: str


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def local_intervals(
    filters: SearchFilters, time_zone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The [start, end) instants, inside the search window, whose local time matches the filters."""
    zone = ZoneInfo(time_zone)
    if filters.date_from:
        start = max(start, _local_midnight(filters.date_from, zone))
    if filters.date_to:
        end = min(end, _local_midnight(filters.date_to + timedelta(days=1), zone))
    if start >= end:
        return []
    if not filters.days and not filters.times:
        return [(start, end)]
    weekdays = {DAYS.index(day) for day in filters.days} or set(range(7))
    hours = sorted(TIMES_OF_DAY[t] for t in filters.times) or [(0, 24)]
    intervals: list[tuple[datetime, datetime]] = []
    day = start.astimezone(zone).date()
    while _local_midnight(day, zone) < end:
        if day.weekday() in weekdays:
            for first, last in hours:
                low = datetime.combine(day, time(first), tzinfo=zone)
                high = (
                    _local_midnight(day + timedelta(days=1), zone)
                    if last == 24
                    else datetime.combine(day, time(last), tzinfo=zone)
                )
                low, high = max(low, start), min(high, end)
                if low >= high:
                    continue
                if intervals and intervals[-1][1] >= low:  # touching: evening then the next morning
                    intervals[-1] = (intervals[-1][0], max(intervals[-1][1], high))
                else:
                    intervals.append((low, high))
        day += timedelta(days=1)
    return intervals


@dataclass(frozen=True)
class _Shape:
    """Which conditions a search has, and how many values each takes: the key of its compiled SQL."""

    category: bool
    venue: bool
    activity: bool
    access: tuple[str, ...]
    has_places: bool
    near: int  #: how many venues are near enough (0: no postcode given)
    zones: tuple[int, ...]  #: per venue time zone, how many local intervals (empty: no local filters)


def _starts_within(zone: int, intervals: int) -> WhereRaw:
    sql = " OR ".join('("session"."starts_at" >= {} AND "session"."starts_at" < {})' for _ in range(intervals))
    return WhereRaw(f"({sql})", *[Bind(f"z{zone}i{i}{edge}") for i in range(intervals) for edge in "se"])


def _any_of(conditions: Iterable):
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined | condition
    return combined


def _conditions(shape: _Shape) -> list:
    """The WHERE clause of a search of this shape, with a Bind for every value."""
    where = [
        Session.status == SessionStatus.SCHEDULED.value,
        Session.activity.archived == False,  # noqa: E712 (Piccolo builds SQL from the comparison)
        Session.room.venue.archived == False,  # noqa: E712
    ]
    if shape.category:
        where.append(Session.activity.category == Bind("category"))
    if shape.venue:
        where.append(Session.room.venue.slug == Bind("venue"))
    if shape.activity:
        where.append(Session.activity.slug == Bind("activity"))
    for need in shape.access:
        where.append(ACCESS_NEEDS[need][1] == True)  # noqa: E712
    if shape.has_places:
        where.append(WhereRaw('"session"."capacity" - "session"."booked" - "session"."held" > 0'))
    if shape.near:
        where.append(Session.room.venue.slug.is_in([Bind(f"near{i}") for i in range(shape.near)]))
    if shape.zones:
        where.append(
            _any_of(
                (Session.room.venue.time_zone == Bind(f"zone{z}")) & _starts_within(z, intervals)
                for z, intervals in enumerate(shape.zones)
            )
        )
        where.append(Session.starts_at >= Bind("now"))  # the intervals start no earlier; this keeps the index in use
    else:
        where += [Session.starts_at >= Bind("now"), Session.starts_at < Bind("end")]
    return where


async def _venue_places() -> list[_VenuePlace]:
    rows = await Venue.select(Venue.id, Venue.slug, Venue.latitude, Venue.longitude, Venue.time_zone).where(
        Venue.archived == False  # noqa: E712
    )
    return [_VenuePlace(**row) for row in rows]


async def search_sessions(filters: SearchFilters, now: datetime, page_size: int = PAGE_SIZE) -> SearchResults:
    """Scheduled, upcoming sessions matching the filters, soonest first; one page of them and the total.

    Two queries (a count and the page), plus one of the venue table when the filters need venues'
    places or time zones (near, dates, days, time of day). Each shape of search is built with Piccolo
    once (booking/compiled.py).
    """
    empty = SearchResults(sessions=[], total=0, page=1, pages=1, page_size=page_size)
    end = now + timedelta(days=MAX_DAYS_AHEAD)
    values: dict[str, object] = {
        "category": filters.category,
        "venue": filters.venue,
        "activity": filters.activity,
        "now": now,
        "end": end,
    }
    distances: dict[str, float] = {}
    near_slugs: list[str] = []
    zones: list[tuple[str, list[tuple[datetime, datetime]]]] = []
    local_filters = filters.days or filters.times or filters.date_from or filters.date_to
    if filters.near or local_filters:
        venues = await _venue_places()
        if filters.near:
            here = centroid(filters.district)
            distances = {
                v.slug: distance_miles(here, (v.latitude, v.longitude))
                for v in venues
                if v.latitude is not None and v.longitude is not None
            }
            distances = {slug: miles for slug, miles in distances.items() if miles <= filters.within}
            if not distances:
                return empty
            near_slugs = sorted(distances)
            venues = [v for v in venues if v.slug in distances]
        if local_filters:
            per_zone = [
                (zone, local_intervals(filters, zone, now, end)) for zone in sorted({v.time_zone for v in venues})
            ]
            zones = [(zone, intervals) for zone, intervals in per_zone if intervals]
            if not zones:
                return empty
    for i, slug in enumerate(near_slugs):
        values[f"near{i}"] = slug
    for z, (zone, intervals) in enumerate(zones):
        values[f"zone{z}"] = zone
        for i, (low, high) in enumerate(intervals):
            values[f"z{z}i{i}s"], values[f"z{z}i{i}e"] = low, high
    shape = _Shape(
        category=bool(filters.category),
        venue=bool(filters.venue),
        activity=bool(filters.activity),
        access=filters.access,
        has_places=filters.has_places,
        near=len(near_slugs),
        zones=tuple(len(intervals) for _, intervals in zones),
    )

    counting = compiled(Session, ("search.count", shape), lambda: Session.count().where(*_conditions(shape)))
    [row] = await counting.run(values)
    total = row["count"]
    pages = max(1, math.ceil(total / page_size))
    page = min(filters.page, pages)
    listing = compiled(
        Session,
        ("search.page", shape),
        lambda: (
            Session.select(*_SESSION_COLUMNS)
            .where(*_conditions(shape))
            .order_by(Session.starts_at)
            .order_by(Session.id)
        ),
    )
    rows = await listing.run(values, " LIMIT {} OFFSET {}", page_size, (page - 1) * page_size)
    return SearchResults(
        sessions=[_view(row) for row in rows],
        total=total,
        page=page,
        pages=pages,
        page_size=page_size,
        distances=distances,
    )


def with_page(filters: SearchFilters, page: int) -> SearchFilters:
    return replace(filters, page=page)
