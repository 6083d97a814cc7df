"""GET /staff/reports (figures, tables and SVG charts) and GET /staff/reports.csv (the same, as a file)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from booking.charts import Bar, bar_chart
from booking.open_hours import ASSUMED_HOURS
from booking.report_figures import Figures, hours, percent
from booking.reports import Report, build_report, parse_report_filters
from booking.staff import Permission, StaffUser
from booking.states import ActivityCategory
from booking.tables import Venue
from web.staff.access import staff_rule
from web.staff.csv_files import csv_download

REPORT_ZONE = ZoneInfo("Europe/London")  #: what "today" means for the default dates
CSV_COLUMNS = (
    "Breakdown", "Name", "Sessions run", "Places offered", "Bookings", "Booked places", "Fill rate",
    "Places with attendance marked", "Attended places", "Attendance rate", "No-show places", "No-show rate",
    "Waiting-list residents not booked", "Waiting-list places not booked", "Booked hours", "Open hours",
    "Room utilisation",
)


async def _venue_options(staff: StaffUser) -> list[tuple[int, str]]:
    """The venues this staff member may report on: theirs, or every one (archived ones marked) for admins."""
    query = Venue.select(Venue.id, Venue.name, Venue.archived)
    scope = staff.venue_filter()
    if scope is not None:
        if not scope:
            return []
        query = query.where(Venue.id.is_in(list(scope)))
    rows = await query.order_by(Venue.name).order_by(Venue.id)
    return [(row["id"], row["name"] + (" (archived)" if row["archived"] else "")) for row in rows]


def _params(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "") for name in ("from", "to", "venue", "category")}


async def _report(request: Request, staff: StaffUser) -> tuple[dict, Report | None, dict, list]:
    options = await _venue_options(staff)
    params = _params(request)
    filters, errors = parse_report_filters(
        params, today=datetime.now(REPORT_ZONE).date(), venue_choices={vid for vid, _ in options}
    )
    report = None if errors else await build_report(filters, staff.venue_filter(), datetime.now(UTC))
    form = {key: value[:100] for key, value in params.items()}
    if not errors:
        form.update({"from": filters.date_from.isoformat(), "to": filters.date_to.isoformat()})
    return form, report, errors, options


def _charts(report: Report) -> list[str]:
    def fill_bars(lines) -> list[Bar]:
        return [Bar(name, line.fill_rate, percent(line.fill_rate)) for name, line in lines]

    return [
        bar_chart(
            "chart-fill-venue", "Fill rate by venue",
            "Booked places as a share of places offered at each venue. The same figures are in the table "
            "Figures by venue.",
            fill_bars([(line.name, line.figures) for line in report.venues]), maximum=1.0,
        ),
        bar_chart(
            "chart-fill-category", "Fill rate by type of activity",
            "Booked places as a share of places offered for each type of activity. The same figures are in the "
            "table Figures by type of activity.",
            fill_bars([(line.label, line.figures) for line in report.categories]), maximum=1.0,
        ),
        bar_chart(
            "chart-bookings-week", "Booked places each week",
            "Places booked on the sessions run in each week of the dates chosen. The same figures are in the "
            "table Figures by week.",
            [Bar(f"{week.starts_on.day} {week.starts_on:%b} to {week.ends_on.day} {week.ends_on:%b}", week.figures.booked_places,
                 str(week.figures.booked_places)) for week in report.weeks],
        ),
    ]


def _page(form: dict, report: Report | None, errors: dict, options: list) -> Template:
    return Template(
        template_name="staff/reports.html",
        context={
            "form": form,
            "errors": errors,
            "report": report,
            "charts": _charts(report) if report else [],
            "venue_lines": [(line.name, line.figures) for line in report.venues] if report else [],
            "category_lines": [(line.label, line.figures) for line in report.categories] if report else [],
            "venue_options": options,
            "categories": [(c.value, c.label) for c in ActivityCategory],
            "percent": percent,
            "hours": hours,
            "assumed_hours": ASSUMED_HOURS,
            "csv_query": report.filters.query_string() if report else "",
        },
        status_code=HTTP_422_UNPROCESSABLE_ENTITY if errors else 200,
    )


def _csv_row(kind: str, name: str, figures: Figures, *, with_hours: bool) -> list[str]:
    return [
        kind, name, figures.sessions_run, figures.places_offered, figures.bookings, figures.booked_places,
        percent(figures.fill_rate), figures.marked_places, figures.attended_places, percent(figures.attendance_rate),
        figures.no_show_places, percent(figures.no_show_rate), figures.waitlist_people, figures.waitlist_places,
        hours(figures.booked_minutes), hours(figures.open_minutes) if with_hours else "",
        percent(figures.utilisation) if with_hours else "",
    ]


def report_rows(report: Report) -> list[list[object]]:
    rows = [_csv_row("All", "All venues in the report", report.overall, with_hours=True)]
    rows += [_csv_row("Venue", line.name, line.figures, with_hours=True) for line in report.venues]
    rows += [_csv_row("Type of activity", line.label, line.figures, with_hours=False) for line in report.categories]
    rows += [
        _csv_row("Week", f"{week.starts_on.isoformat()} to {week.ends_on.isoformat()}", week.figures, with_hours=False)
        for week in report.weeks
    ]
    return rows


class ReportsController(Controller):
    path = "/"

    @get("/reports", opt=staff_rule(Permission.VIEW_REPORTS))
    async def reports(self, request: Request, staff: NamedDependency[StaffUser]) -> Template:
        return _page(*await _report(request, staff))

    @get("/reports.csv", opt=staff_rule(Permission.VIEW_REPORTS))
    async def reports_csv(self, request: Request, staff: NamedDependency[StaffUser]) -> Template | Response:
        form, report, errors, options = await _report(request, staff)
        if report is None:
            return _page(form, report, errors, options)
        filters = report.filters
        filename = f"commons-report-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}.csv"
        return csv_download(CSV_COLUMNS, report_rows(report), filename)
