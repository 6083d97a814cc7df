"""Staff reports: figures by date range, venue and category, counted in SQL with a fixed number of queries.

Four queries whatever the number of rows: the venues in scope (with their room counts), sessions run,
their bookings and their waiting lists, each grouped by venue and category (and, for sessions and
bookings, by week of the range). Totals per venue, category and week are sums of those groups; rates
are worked out in Python (booking/report_figures.py, where every figure is defined).

Dates are the venue's local dates: SQLite has no time zones, so, as in booking/search.py, each venue
time zone turns the range into one UTC interval and SQL keeps sessions starting inside it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from booking.open_hours import parse_opening_hours
from booking.report_figures import Figures, total
from booking.states import ActivityCategory, Attendance, BookingStatus, SessionStatus, WaitlistEntryStatus
from booking.tables import Session
from booking.validation import is_digits
from commons.db import is_sqlite

DEFAULT_DAYS = 28  #: with no dates chosen: the last four weeks, today included
MAX_DAYS = 366
DATE_EXAMPLE = "2026-11-02"

Params = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class ReportFilters:
    date_from: date
    date_to: date  #: included
    venue_id: int | None = None  #: None: every venue the staff member works at
    category: str | None = None

    def query_string(self) -> str:
        pairs = [("from", self.date_from.isoformat()), ("to", self.date_to.isoformat())]
        if self.venue_id is not None:
            pairs.append(("venue", str(self.venue_id)))
        if self.category:
            pairs.append(("category", self.category))
        return urlencode(pairs)


def _first(params: Params, name: str) -> str:
    value = params.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        value = next(iter(value), "")
    return str(value).strip()[:100]


def _parse_date(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError
    return date.fromisoformat(text)


def parse_report_filters(
    params: Params, *, today: date, venue_choices: Collection[int]
) -> tuple[ReportFilters, dict[str, str]]:
    """Check each value; ``venue_choices`` are the venues this staff member may report on."""
    errors: dict[str, str] = {}
    date_to, date_from = today, today - timedelta(days=DEFAULT_DAYS - 1)
    for name, label in (("from", "start"), ("to", "end")):
        text = _first(params, name)
        if not text:
            continue
        try:
            day = _parse_date(text)
        except ValueError:
            errors[name] = f"The {label} date must be a real date, like {DATE_EXAMPLE}"
            continue
        if day > today:
            errors[name] = f"The {label} date must be today or earlier"
        elif name == "from":
            date_from = day
        else:
            date_to = day
    if "from" not in errors and "to" not in errors:
        if _first(params, "from") and not _first(params, "to") and date_from > date_to:
            date_to = today
        if date_to < date_from:
            errors["to"] = "The end date must be the same as or after the start date"
        elif (date_to - date_from).days + 1 > MAX_DAYS:
            errors["from"] = f"Choose dates no more than {MAX_DAYS} days apart"

    venue_id = None
    venue = _first(params, "venue")
    if venue:
        if is_digits(venue) and int(venue) in venue_choices:
            venue_id = int(venue)
        else:
            errors["venue"] = "Choose one of your venues from the list"

    category = _first(params, "category") or None
    if category and category not in {c.value for c in ActivityCategory}:
        errors["category"] = "Choose a type of activity from the list"
        category = None
    return ReportFilters(date_from, date_to, venue_id, category), errors


@dataclass(frozen=True)
class VenueLine:
    id: int
    name: str
    figures: Figures
    hours_assumed: bool  #: its opening hours could not be read: ASSUMED_HOURS stand in


@dataclass(frozen=True)
class CategoryLine:
    category: str
    label: str
    figures: Figures


@dataclass(frozen=True)
class WeekLine:
    starts_on: date  #: the range's first day, then every seventh day
    ends_on: date
    figures: Figures


@dataclass(frozen=True)
class Report:
    filters: ReportFilters
    overall: Figures
    venues: list[VenueLine]
    categories: list[CategoryLine]
    weeks: list[WeekLine]

    @property
    def assumed_venues(self) -> list[str]:
        return [line.name for line in self.venues if line.hours_assumed]


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


class _Sql:
    """Builds one raw statement's text and arguments in order (Piccolo's ``{}`` parameter slots)."""

    def __init__(self) -> None:
        self.args: list = []

    def arg(self, value) -> str:
        self.args.append(value)
        return "{}"

    def each(self, values: Collection) -> str:
        return ", ".join(self.arg(value) for value in values)


_FROM_SESSIONS = 'FROM "session" s'
_FROM_BOOKINGS = 'FROM booking b JOIN "session" s ON s.id = b.session'
_FROM_WAITLIST = 'FROM waitlist_entry w JOIN "session" s ON s.id = w.session'


def _session_scope(sql: _Sql, filters: ReportFilters, zones: dict[str, tuple[datetime, datetime]],
                   venue_ids: Collection[int] | None, source: str = _FROM_SESSIONS) -> str:
    """FROM and WHERE for "sessions run" in the range, as aliases s (session), v (venue), a (activity).

    Arguments are added in the order their parameter slots appear in the text.
    """
    scheduled = f"s.status = {sql.arg(SessionStatus.SCHEDULED.value)}"
    windows = " OR ".join(
        f"(v.time_zone = {sql.arg(zone)} AND s.starts_at >= {sql.arg(start)} AND s.starts_at < {sql.arg(end)})"
        for zone, (start, end) in zones.items()
    )
    where = [scheduled, f"({windows})"]
    if venue_ids is not None:
        where.append(f"v.id IN ({sql.each(venue_ids)})")
    if filters.category:
        where.append(f"a.category = {sql.arg(filters.category)}")
    return (
        f"{source} JOIN room r ON r.id = s.room JOIN venue v ON v.id = r.venue "
        f"JOIN activity a ON a.id = s.activity WHERE {' AND '.join(where)}"
    )


def _week_expression(sql: _Sql, sqlite: bool, origin: datetime) -> str:
    """The week of the range a session starts in: 0 for the first seven days, and so on."""
    if sqlite:
        return f"CAST((julianday(s.starts_at) - julianday({sql.arg(origin)})) / 7 AS INTEGER)"
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM (s.starts_at - CAST({sql.arg(origin)} AS timestamptz))) / 604800) AS INTEGER)"


def _minutes_expression(sqlite: bool) -> str:
    if sqlite:
        return "(julianday(s.ends_at) - julianday(s.starts_at)) * 1440.0"
    return "EXTRACT(EPOCH FROM (s.ends_at - s.starts_at)) / 60.0"


async def _venues(venue_ids: Collection[int] | None, chosen: int | None) -> list[dict]:
    sql = _Sql()
    rooms = f"(SELECT COUNT(*) FROM room r WHERE r.venue = v.id AND r.archived = {sql.arg(False)})"
    where = []
    if chosen is not None:
        where.append(f"v.id = {sql.arg(chosen)}")
    elif venue_ids is not None:
        where.append(f"v.id IN ({sql.each(venue_ids) if venue_ids else 'NULL'})")
    text = (
        f"SELECT v.id, v.name, v.time_zone, v.opening_hours, v.archived, {rooms} AS rooms FROM venue v"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY v.name, v.id"
    )
    return await Session.raw(text, *sql.args)


async def build_report(filters: ReportFilters, venue_ids: Collection[int] | None, now: datetime) -> Report:
    """The report for ``filters``; ``venue_ids`` are the venues the staff member works at (None: all)."""
    venues = await _venues(venue_ids, filters.venue_id)
    if not venues:
        return Report(filters, Figures(), [], [], [])
    # Every venue (an admin, no venue chosen): no list of ids in the SQL.
    in_scope = None if venue_ids is None and filters.venue_id is None else [row["id"] for row in venues]
    zones = {}
    for zone in sorted({row["time_zone"] for row in venues}):
        start = _local_midnight(filters.date_from, zone)
        end = min(_local_midnight(filters.date_to + timedelta(days=1), zone), now)
        zones[zone] = (start, max(start, end))
    origin = min(start for start, _ in zones.values())
    sqlite = is_sqlite(Session._meta.db)
    groups: dict[tuple[int, str, int | None], Figures] = {}

    def add(key: tuple[int, str, int | None], figures: Figures) -> None:
        groups[key] = groups.get(key, Figures()) + figures

    sql = _Sql()
    week = _week_expression(sql, sqlite, origin)
    scope = _session_scope(sql, filters, zones, in_scope)
    rows = await Session.raw(
        f"SELECT v.id AS venue, a.category AS category, {week} AS week, COUNT(*) AS sessions, "
        f"SUM(s.capacity) AS places, SUM({_minutes_expression(sqlite)}) AS minutes {scope} "
        "GROUP BY v.id, a.category, week",
        *sql.args,
    )
    for row in rows:
        add((row["venue"], row["category"], row["week"]), Figures(
            sessions_run=row["sessions"], places_offered=row["places"] or 0,
            booked_minutes=float(row["minutes"] or 0)))

    sql = _Sql()
    week = _week_expression(sql, sqlite, origin)
    attended, no_show = sql.arg(Attendance.ATTENDED.value), sql.arg(Attendance.NO_SHOW.value)
    scope = _session_scope(sql, filters, zones, in_scope, _FROM_BOOKINGS)
    rows = await Session.raw(
        f"SELECT v.id AS venue, a.category AS category, {week} AS week, COUNT(b.id) AS bookings, "
        f"SUM(b.party_size) AS places, "
        f"SUM(CASE WHEN b.attendance = {attended} THEN b.party_size ELSE 0 END) AS attended, "
        f"SUM(CASE WHEN b.attendance = {no_show} THEN b.party_size ELSE 0 END) AS no_show "
        f"{scope} "
        f"AND b.status = {sql.arg(BookingStatus.CONFIRMED.value)} GROUP BY v.id, a.category, week",
        *sql.args,
    )
    for row in rows:
        add((row["venue"], row["category"], row["week"]), Figures(
            bookings=row["bookings"], booked_places=row["places"] or 0,
            attended_places=row["attended"] or 0, no_show_places=row["no_show"] or 0))

    sql = _Sql()
    scope = _session_scope(sql, filters, zones, in_scope, _FROM_WAITLIST)
    booked_entry = sql.arg(WaitlistEntryStatus.BOOKED.value)
    confirmed = sql.arg(BookingStatus.CONFIRMED.value)
    rows = await Session.raw(
        "SELECT v.id AS venue, a.category AS category, COUNT(w.id) AS people, SUM(w.party_size) AS places "
        f"{scope} "
        f"AND w.status <> {booked_entry} AND NOT EXISTS (SELECT 1 FROM booking b WHERE b.session = w.session "
        f"AND b.resident = w.resident AND b.status = {confirmed}) GROUP BY v.id, a.category",
        *sql.args,
    )
    for row in rows:
        add((row["venue"], row["category"], None), Figures(
            waitlist_people=row["people"], waitlist_places=row["places"] or 0))
    return _assemble(filters, venues, groups)


def _assemble(filters: ReportFilters, venues: list[dict], groups: dict[tuple[int, str, int | None], Figures]) -> Report:
    venue_lines = []
    for row in venues:
        figures = total([f for (venue, _, _), f in groups.items() if venue == row["id"]])
        if row["archived"] and not figures.sessions_run:
            continue  # an archived venue with nothing in the range says nothing
        weekly = parse_opening_hours(row["opening_hours"])
        open_minutes = 0 if row["archived"] else weekly.open_minutes(filters.date_from, filters.date_to) * row["rooms"]
        venue_lines.append(VenueLine(row["id"], row["name"], figures + Figures(open_minutes=open_minutes),
                                     weekly.assumed and not row["archived"]))
    category_lines = []
    for category in ActivityCategory:
        figures = total([f for (_, c, _), f in groups.items() if c == category.value])
        if figures.sessions_run or filters.category == category.value:
            category_lines.append(CategoryLine(category.value, category.label, figures))
    weeks = []
    day, index = filters.date_from, 0
    while day <= filters.date_to:
        figures = total([f for (_, _, w), f in groups.items() if w == index])
        weeks.append(WeekLine(day, min(day + timedelta(days=6), filters.date_to), figures))
        day, index = day + timedelta(days=7), index + 1
    overall = total([line.figures for line in venue_lines])
    return Report(filters, overall, venue_lines, category_lines, weeks)
