"""Report figures for a small made-up programme at two venues, on both engines, in four queries."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.reports import ReportFilters, build_report, parse_report_filters
from booking.states import (
    ActivityCategory,
    Attendance,
    BookingSource,
    BookingStatus,
    SessionStatus,
    WaitlistEntryStatus,
)
from booking.tables import Booking, Resident, Session, WaitlistEntry
from tests.builders import make_activity, make_room, make_venue, unique

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 10, 5)  #: British Summer Time: local midnight is 11pm UTC the day before
SUNDAY = date(2026, 10, 11)
YOGA, CRAFT = ActivityCategory.YOGA_AND_MOVEMENT.value, ActivityCategory.CRAFT.value
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


async def session(room, activity, starts_at: datetime, minutes: int, capacity: int,
                  status: SessionStatus = SessionStatus.SCHEDULED) -> Session:
    row = Session(activity=activity.id, room=room.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                  capacity=capacity, status=status.value, created_at=NOW, updated_at=NOW)
    await row.save()
    return row


async def person() -> Resident:
    row = Resident(name=unique("Resident"), email=f"{unique('r')}@example.org", created_at=NOW)
    await row.save()
    return row


async def booking(on: Session, party: int, attendance: Attendance = Attendance.UNMARKED, *,
                  status: BookingStatus = BookingStatus.CONFIRMED, source: BookingSource = BookingSource.ONLINE,
                  resident: Resident | None = None) -> Booking:
    row = Booking(reference=uuid.uuid4().hex[:8].upper(), session=on.id, resident=(resident or await person()).id,
                  party_size=party, status=status.value, source=source.value, manage_token_hash="x",
                  created_at=NOW, attendance=attendance.value)
    await row.save()
    return row


async def waiting(on: Session, party: int, status: WaitlistEntryStatus, resident: Resident | None = None) -> None:
    await WaitlistEntry(session=on.id, resident=(resident or await person()).id, party_size=party,
                        status=status.value, created_at=NOW).save()


@pytest.fixture
async def programme(db):
    """Venue A (weekdays 9 to 5, one room) and venue B (hours unreadable, two rooms); yoga and craft."""
    venue_a = await make_venue(name="Alpha Library", opening_hours="Monday to Friday: 9am to 5pm")
    venue_b = await make_venue(name="Beta Hub", opening_hours="Ring us")
    room_a = await make_room(venue_a, capacity=20)
    room_b = await make_room(venue_b, capacity=20)
    await make_room(venue_b, capacity=20, name="Second room")
    yoga, craft = await make_activity(category=YOGA), await make_activity(category=CRAFT)

    s1 = await session(room_a, yoga, local(MONDAY, 10), 60, 10)
    await booking(s1, 2, Attendance.ATTENDED)
    await booking(s1, 1, Attendance.NO_SHOW)
    await booking(s1, 3)
    await booking(s1, 2, status=BookingStatus.CANCELLED)
    s2 = await session(room_a, craft, local(MONDAY + timedelta(days=2), 14), 120, 8)
    await booking(s2, 4, Attendance.ATTENDED)
    await waiting(s2, 2, WaitlistEntryStatus.EXPIRED)  # turned away: counts
    await waiting(s2, 1, WaitlistEntryStatus.BOOKED)  # got places from the list
    booked_another_way = await person()
    await waiting(s2, 1, WaitlistEntryStatus.REMOVED, booked_another_way)
    await booking(s2, 1, Attendance.ATTENDED, resident=booked_another_way)  # ... so does not count either
    cancelled = await session(room_a, yoga, local(MONDAY + timedelta(days=3), 10), 60, 10, SessionStatus.CANCELLED)
    await booking(cancelled, 2)
    await session(room_a, yoga, local(MONDAY, 0, 30), 60, 5)  # 11:30pm UTC on Sunday: still Monday locally
    next_week = await session(room_a, yoga, local(MONDAY + timedelta(days=7), 0, 30), 60, 10)
    s7 = await session(room_b, craft, local(MONDAY + timedelta(days=1), 10), 60, 6)
    await booking(s7, 6, Attendance.ATTENDED, source=BookingSource.WALK_IN)
    return {"a": venue_a.id, "b": venue_b.id, "next_week": next_week}


def week(**overrides) -> ReportFilters:
    return ReportFilters(**{"date_from": MONDAY, "date_to": SUNDAY, **overrides})


async def test_figures_for_each_venue_and_overall(programme):
    report = await build_report(week(), {programme["a"], programme["b"]}, NOW)
    a, b = report.venues
    assert (a.name, b.name) == ("Alpha Library", "Beta Hub")
    fa = a.figures
    assert (fa.sessions_run, fa.places_offered, fa.bookings, fa.booked_places) == (3, 23, 5, 11)
    assert (fa.attended_places, fa.no_show_places, fa.marked_places) == (7, 1, 8)
    assert (fa.waitlist_people, fa.waitlist_places) == (1, 2)
    assert round(fa.booked_minutes) == 240 and fa.open_minutes == 5 * 8 * 60
    assert not a.hours_assumed
    fb = b.figures
    assert (fb.sessions_run, fb.places_offered, fb.bookings, fb.booked_places, fb.attended_places) == (1, 6, 1, 6, 6)
    assert b.hours_assumed and fb.open_minutes == 5 * 8 * 60 * 2  # assumed weekdays 9 to 5, two rooms
    assert report.assumed_venues == ["Beta Hub"]
    overall = report.overall
    assert (overall.sessions_run, overall.places_offered, overall.booked_places) == (4, 29, 17)
    assert overall.fill_rate == 17 / 29
    assert overall.attendance_rate == 13 / 14 and overall.no_show_rate == 1 / 14
    assert round(overall.booked_minutes) == 300 and overall.utilisation == pytest.approx(300 / 7200)


async def test_figures_for_each_category(programme):
    report = await build_report(week(), {programme["a"], programme["b"]}, NOW)
    by_category = {line.category: line.figures for line in report.categories}
    assert set(by_category) == {YOGA, CRAFT}
    yoga, craft = by_category[YOGA], by_category[CRAFT]
    assert (yoga.sessions_run, yoga.places_offered, yoga.bookings, yoga.booked_places) == (2, 15, 3, 6)
    assert yoga.attendance_rate == 2 / 3 and yoga.waitlist_people == 0
    assert (craft.sessions_run, craft.places_offered, craft.bookings, craft.booked_places) == (2, 14, 3, 11)
    assert craft.attendance_rate == 1.0 and craft.no_show_rate == 0 and craft.waitlist_places == 2


async def test_venue_category_and_date_filters(programme):
    both = {programme["a"], programme["b"]}
    only_b = await build_report(week(venue_id=programme["b"]), both, NOW)
    assert [line.name for line in only_b.venues] == ["Beta Hub"] and only_b.overall.sessions_run == 1

    craft = await build_report(week(category=CRAFT), both, NOW)
    assert craft.overall.sessions_run == 2 and craft.overall.booked_places == 11
    assert [line.category for line in craft.categories] == [CRAFT]

    monday = await build_report(week(date_to=MONDAY), both, NOW)
    assert monday.overall.sessions_run == 2  # 00:30 and 10am local; not Wednesday's, not next Monday's 00:30
    assert monday.overall.places_offered == 15
    assert monday.venues[0].figures.open_minutes == 8 * 60


async def test_a_staff_member_only_gets_figures_for_their_own_venues(programme):
    report = await build_report(week(), {programme["b"]}, NOW)
    assert [line.name for line in report.venues] == ["Beta Hub"]
    assert report.overall.sessions_run == 1


async def test_weeks_split_the_range_in_sevens_in_local_time(programme):
    report = await build_report(week(date_to=SUNDAY + timedelta(days=7)), {programme["a"]}, NOW)
    assert [(w.starts_on, w.ends_on) for w in report.weeks] == [
        (MONDAY, SUNDAY), (MONDAY + timedelta(days=7), SUNDAY + timedelta(days=7))
    ]
    assert [w.figures.sessions_run for w in report.weeks] == [3, 1]
    assert [w.figures.booked_places for w in report.weeks] == [11, 0]


async def test_sessions_not_yet_started_are_not_run(programme):
    before_wednesday = local(MONDAY + timedelta(days=2), 13)
    report = await build_report(week(), {programme["a"]}, before_wednesday)
    assert report.overall.sessions_run == 2  # Monday's two; Wednesday's 2pm craft has not started


async def test_no_sessions_gives_no_data_rates(db):
    venue = await make_venue(name="Quiet Library", opening_hours="Monday to Friday: 9am to 5pm")
    await make_room(venue)
    report = await build_report(week(), {venue.id}, NOW)
    assert report.overall.sessions_run == 0
    assert report.overall.fill_rate is None and report.overall.attendance_rate is None
    assert report.overall.utilisation == 0


@pytest.fixture
def count_queries(db, monkeypatch):
    """How many statements Piccolo sends, from the moment the fixture is used."""
    calls: list[str] = []
    engine_class = type(db.engine)
    original = engine_class.run_querystring

    async def counting(engine, querystring, *args, **kwargs):
        if engine is db.engine:
            calls.append(str(querystring))
        return await original(engine, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counting)  # engines have __slots__: patch the class
    return calls


async def test_a_report_is_four_queries_however_many_rows(programme, count_queries):
    count_queries.clear()
    await build_report(week(date_to=SUNDAY + timedelta(days=14)), None, NOW)
    assert len(count_queries) == 4


def test_filters_default_to_the_last_four_weeks():
    filters, errors = parse_report_filters({}, today=date(2026, 11, 30), venue_choices=set())
    assert not errors
    assert (filters.date_from, filters.date_to) == (date(2026, 11, 3), date(2026, 11, 30))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-12-01"}, "to"),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-11-30"}, "from"),
        ({"venue": "99999999999"}, "venue"),
        ({"venue": "7"}, "venue"),
        ({"venue": "-1"}, "venue"),
        ({"category": "darts"}, "category"),
    ],
)
def test_bad_filters_each_get_a_message(params, field):
    _, errors = parse_report_filters(params, today=date(2026, 11, 30), venue_choices={3})
    assert field in errors


def test_a_venue_of_ones_own_is_accepted():
    filters, errors = parse_report_filters({"venue": "3", "category": CRAFT}, today=date(2026, 11, 30),
                                           venue_choices={3})
    assert not errors and filters.venue_id == 3 and filters.category == CRAFT
