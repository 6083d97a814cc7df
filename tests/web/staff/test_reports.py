"""GET /staff/reports and /staff/reports.csv: who may see them, venue limits, the CSV file and its injection guard."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.states import ActivityCategory, Attendance
from booking.tables import Booking, Resident, Session
from tests.builders import make_activity, make_room, make_venue, unique
from web.staff.csv_files import safe_cell

LONDON = ZoneInfo("Europe/London")
YESTERDAY = datetime.now(LONDON).date() - timedelta(days=1)


async def run_session(venue, *, booked: int, capacity: int = 10, attended: bool = True, title: str = "Chair yoga"):
    """A session that ran yesterday at noon with one booking of ``booked`` places."""
    room = await make_room(venue)
    activity = await make_activity(title=title, category=ActivityCategory.CRAFT.value)
    starts = datetime.combine(YESTERDAY, time(12), tzinfo=LONDON).astimezone(UTC)
    now = datetime.now(UTC)
    session = Session(activity=activity.id, room=room.id, starts_at=starts, ends_at=starts + timedelta(hours=1),
                      capacity=capacity, booked=booked, created_at=now, updated_at=now)
    await session.save()
    person = Resident(name=unique("R"), email=f"{unique('r')}@example.org", created_at=now)
    await person.save()
    await Booking(reference=uuid.uuid4().hex[:8].upper(), session=session.id, resident=person.id, party_size=booked,
                  manage_token_hash="x", created_at=now,
                  attendance=(Attendance.ATTENDED if attended else Attendance.UNMARKED).value).save()
    return session


def query(venue=None, **extra) -> str:
    params = {"from": YESTERDAY.isoformat(), "to": YESTERDAY.isoformat(), **extra}
    if venue is not None:
        params["venue"] = str(venue.id)
    return "&".join(f"{k}={v}" for k, v in params.items())


async def test_a_volunteer_cannot_see_reports(as_volunteer):
    for path in ("/staff/reports", "/staff/reports.csv"):
        assert (await as_volunteer.get(path)).status_code == 403


async def test_a_coordinator_sees_figures_tables_and_accessible_charts_for_their_venue(as_coordinator, own_venue,
                                                                                       other_venue):
    await run_session(own_venue, booked=6, capacity=8)
    await run_session(other_venue, booked=9, capacity=10)
    response = await as_coordinator.get(f"/staff/reports?{query()}")
    assert response.status_code == 200
    page = response.text
    assert "Another Library" not in page  # neither in the venue list nor in the figures
    venues_table = page[page.index('id="table-venues"'):page.index('id="table-categories"')]
    assert "Our Library" in venues_table and "75%" in venues_table  # 6 of 8 places
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 3
    assert re.search(r'<title id="chart-fill-venue-title">Fill rate by venue</title>', page)
    assert "style=" not in page and "<script>" not in page
    assert f'href="/staff/reports.csv?from={YESTERDAY.isoformat()}&amp;to={YESTERDAY.isoformat()}"' in page


async def test_a_coordinator_cannot_ask_for_another_venues_report(as_coordinator, other_venue):
    await run_session(other_venue, booked=9, title="Secret craft")
    for path in ("/staff/reports", "/staff/reports.csv"):
        response = await as_coordinator.get(f"{path}?{query(other_venue)}")
        assert response.status_code == 422
        assert "Choose one of your venues from the list" in response.text
        assert "text/html" in response.headers["content-type"]


@pytest.mark.parametrize("params", ["from=2026-02-30", "to=tomorrow", "venue=99999999999", "category=%3Dcmd",
                                    "from=9999-01-01", "venue=-5&category="])
async def test_bad_filters_are_shown_with_a_message_never_an_error_page(as_coordinator, params):
    response = await as_coordinator.get(f"/staff/reports?{params}")
    assert response.status_code == 422
    assert "There is a problem" in response.text


async def test_the_csv_download(as_admin):
    venue = await make_venue(name="=SUM(1+1) Library")
    await run_session(venue, booked=3, capacity=4)
    response = await as_admin.get(f"/staff/reports.csv?{query(venue)}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    day = YESTERDAY.isoformat()
    assert response.headers["content-disposition"] == f'attachment; filename="commons-report-{day}-{day}.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    header = rows[0]
    assert header[:4] == ["Breakdown", "Name", "Sessions run", "Places offered"]
    by_kind = {(row[0], row[1]): dict(zip(header, row, strict=True)) for row in rows[1:]}
    venue_row = by_kind[("Venue", "'=SUM(1+1) Library")]  # the guard's apostrophe
    assert venue_row["Sessions run"] == "1" and venue_row["Booked places"] == "3"
    assert venue_row["Fill rate"] == "75%" and venue_row["Attendance rate"] == "100%"
    overall = by_kind[("All", "All venues in the report")]
    assert overall["Places offered"] == "4"
    assert ("Type of activity", "Craft workshops") in by_kind
    assert ("Week", f"{day} to {day}") in by_kind


async def test_reports_are_not_cached(as_coordinator):
    response = await as_coordinator.get("/staff/reports")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("=1+2", "'=1+2"), ("+44", "'+44"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"),
     ("Library", "Library"), (12, "12"), ("75%", "75%")],
)
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(value, shown):
    assert safe_cell(value) == shown
