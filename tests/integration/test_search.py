"""search_sessions on both engines: every filter in SQL, local days and times, pagination, two queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.postcodes import DISTRICTS
from booking.search import SearchFilters, search_sessions
from booking.states import ActivityCategory, SessionStatus
from booking.tables import Activity, Session, Venue
from tests.builders import make_activity, make_room, make_session, make_venue

LONDON = ZoneInfo("Europe/London")


async def session_at(local: datetime, *, room, activity, capacity: int = 10, booked: int = 0, status=None) -> Session:
    """A session starting at a local (Europe/London) wall-clock time."""
    start = local.replace(tzinfo=LONDON).astimezone(UTC)
    now = datetime.now(UTC)
    session = Session(
        activity=activity.id,
        room=room.id,
        starts_at=start,
        ends_at=start + timedelta(minutes=15),  # short: sessions 15 minutes apart share a room without a clash
        capacity=capacity,
        booked=booked,
        status=(status or SessionStatus.SCHEDULED).value,
        created_at=now,
        updated_at=now,
    )
    await session.save()
    return session


async def search(**filters) -> list[int]:
    results = await search_sessions(SearchFilters(**filters), datetime.now(UTC), page_size=100)
    return [s.id for s in results.sessions]


async def test_category_and_venue(db):
    venue = await make_venue()
    room = await make_room(venue)
    craft = await make_activity(category=ActivityCategory.CRAFT.value)
    yoga = await make_activity(category=ActivityCategory.YOGA_AND_MOVEMENT.value)
    craft_session = await make_session(room=room, activity=craft)
    yoga_session = await make_session(room=room, activity=yoga, starts_in=timedelta(days=3))
    elsewhere = await make_session(activity=craft)

    assert await search(venue=venue.slug) == [craft_session.id, yoga_session.id]
    assert await search(venue=venue.slug, category=ActivityCategory.CRAFT.value) == [craft_session.id]
    assert set(await search(activity=craft.slug)) == {craft_session.id, elsewhere.id}


async def test_access_needs_are_all_required(db):
    activity = await make_activity()
    plain = await make_session(activity=activity, room=await make_room())
    step_free = await make_session(activity=activity, room=await make_room(step_free_access=True))
    everything = await make_session(
        activity=activity,
        room=await make_room(step_free_access=True, hearing_loop=True, accessible_toilet=True),
    )
    assert set(await search(activity=activity.slug)) == {plain.id, step_free.id, everything.id}
    assert set(await search(activity=activity.slug, access=("step_free",))) == {step_free.id, everything.id}
    assert await search(activity=activity.slug, access=("step_free", "hearing_loop", "accessible_toilet")) == [
        everything.id
    ]


async def test_has_places_leaves_out_full_sessions_and_held_places(db):
    activity = await make_activity()
    room = await make_room()
    start = datetime.now(LONDON).replace(tzinfo=None, microsecond=0) + timedelta(days=2)
    open_session = await session_at(start, room=room, activity=activity, capacity=5, booked=4)
    full = await session_at(start + timedelta(hours=2), room=room, activity=activity, capacity=5, booked=5)
    held = await session_at(start + timedelta(hours=4), room=room, activity=activity, capacity=5, booked=3)
    await Session.update({Session.held: 2}).where(Session.id == held.id)

    assert await search(activity=activity.slug) == [open_session.id, full.id, held.id]
    assert await search(activity=activity.slug, has_places=True) == [open_session.id]


async def test_near_a_postcode_within_a_distance(db):
    activity = await make_activity()
    burton = await make_venue(name="Burton test venue")
    await Venue.update({Venue.latitude: DISTRICTS["DE14"][0], Venue.longitude: DISTRICTS["DE14"][1]}).where(
        Venue.id == burton.id
    )
    hednesford = await make_venue()  # the builder puts venues in WS12
    in_burton = await make_session(activity=activity, room=await make_room(burton))
    in_hednesford = await make_session(activity=activity, room=await make_room(hednesford))

    assert await search(activity=activity.slug, near="DE14 1AA", within=1) == [in_burton.id]
    assert await search(activity=activity.slug, near="WS12", within=1) == [in_hednesford.id]
    # Burton is about 17 miles from Hednesford: not within 10.
    assert await search(activity=activity.slug, near="WS12", within=10) == [in_hednesford.id]
    results = await search_sessions(SearchFilters(activity=activity.slug, near="WS12", within=5), datetime.now(UTC))
    assert results.distances[hednesford.slug] < 1


async def test_only_scheduled_upcoming_sessions_of_live_activities_and_venues(db):
    activity = await make_activity()
    room = await make_room()
    upcoming = await make_session(activity=activity, room=room)
    await make_session(activity=activity, room=room, starts_in=timedelta(hours=-2))
    await make_session(activity=activity, room=room, status=SessionStatus.CANCELLED, starts_in=timedelta(days=3))
    assert await search(activity=activity.slug) == [upcoming.id]

    archived_venue = await make_venue()
    await make_session(activity=activity, room=await make_room(archived_venue), starts_in=timedelta(days=4))
    await Venue.update({Venue.archived: True}).where(Venue.id == archived_venue.id)
    assert await search(activity=activity.slug) == [upcoming.id]

    await Activity.update({Activity.archived: True}).where(Activity.id == activity.id)
    assert await search(activity=activity.slug) == []


async def test_pagination_counts_everything_and_pages_through_it(db):
    activity = await make_activity()
    room = await make_room()
    sessions = [
        await make_session(activity=activity, room=room, starts_in=timedelta(days=2, hours=n)) for n in range(5)
    ]
    now = datetime.now(UTC)

    pages = [await search_sessions(SearchFilters(activity=activity.slug, page=n), now, page_size=2) for n in (1, 2, 3)]
    assert [(r.total, r.pages, r.page) for r in pages] == [(5, 3, 1), (5, 3, 2), (5, 3, 3)]
    assert [s.id for r in pages for s in r.sessions] == [s.id for s in sessions]
    assert (pages[2].first_number, pages[2].last_number) == (5, 5)
    beyond = await search_sessions(SearchFilters(activity=activity.slug, page=9), now, page_size=2)
    assert beyond.page == 3 and [s.id for s in beyond.sessions] == [sessions[4].id]


def next_clock_change(after: date) -> date:
    """The first day after ``after`` whose UTC offset in London differs from the day before."""
    day = after
    while True:
        day += timedelta(days=1)
        if (
            datetime.combine(day, time(12), LONDON).utcoffset()
            != datetime.combine(day - timedelta(days=1), time(12), LONDON).utcoffset()
        ):
            return day


async def test_day_and_time_of_day_are_local_across_a_clock_change(db):
    """Either side of a clock change, UTC and London disagree about the hour (and at night, the day)."""
    activity = await make_activity()
    room = await make_room()
    change = next_clock_change(date.today() + timedelta(days=3))  # a Sunday
    before, after = change - timedelta(days=1), change + timedelta(days=1)  # a Saturday and a Monday
    at = {}
    for day in (before, after):
        for hour, minute in ((0, 30), (11, 30), (12, 0), (16, 45), (17, 0), (23, 30)):
            local = datetime.combine(day, time(hour, minute))
            at[(day.strftime("%a"), hour)] = (await session_at(local, room=room, activity=activity)).id

    def ids(*keys):
        return [at[key] for key in keys]

    window = {"date_from": before, "date_to": after}
    assert await search(activity=activity.slug, days=("monday",), **window) == ids(
        ("Mon", 0), ("Mon", 11), ("Mon", 12), ("Mon", 16), ("Mon", 17), ("Mon", 23)
    )
    assert await search(activity=activity.slug, times=("morning",), **window) == ids(
        ("Sat", 0), ("Sat", 11), ("Mon", 0), ("Mon", 11)
    )
    assert await search(activity=activity.slug, times=("afternoon",), **window) == ids(
        ("Sat", 12), ("Sat", 16), ("Mon", 12), ("Mon", 16)
    )
    assert await search(activity=activity.slug, days=("saturday", "monday"), times=("evening",), **window) == ids(
        ("Sat", 17), ("Sat", 23), ("Mon", 17), ("Mon", 23)
    )
    # Evening then the next morning touch at midnight: still only matching days.
    assert await search(activity=activity.slug, days=("saturday",), times=("evening", "morning"), **window) == ids(
        ("Sat", 0), ("Sat", 11), ("Sat", 17), ("Sat", 23)
    )
    # Local dates: "to" the Saturday includes its 11:30pm, "from" the Monday includes its 12:30am.
    assert await search(activity=activity.slug, date_to=before) == ids(
        ("Sat", 0), ("Sat", 11), ("Sat", 12), ("Sat", 16), ("Sat", 17), ("Sat", 23)
    )
    assert (await search(activity=activity.slug, date_from=after))[0] == at[("Mon", 0)]


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


async def test_a_search_is_two_queries_however_many_results(db, count_queries):
    activity = await make_activity()
    room = await make_room()
    for n in range(12):
        await make_session(activity=activity, room=room, starts_in=timedelta(days=2, hours=n))
    count_queries.clear()

    results = await search_sessions(SearchFilters(activity=activity.slug, access=("step_free",)), datetime.now(UTC))
    assert results.total == 0 and len(count_queries) == 2
    count_queries.clear()
    results = await search_sessions(SearchFilters(activity=activity.slug, has_places=True), datetime.now(UTC))
    assert results.total == 12 and len(results.sessions) == 12 and len(count_queries) == 2
    count_queries.clear()
    # Local-time and distance filters read the (small) venue table once more.
    await search_sessions(SearchFilters(activity=activity.slug, near="WS12", days=("monday",)), datetime.now(UTC))
    assert len(count_queries) == 3
