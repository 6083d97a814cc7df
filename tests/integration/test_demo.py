"""The demo data set, loaded through ``seed_demo`` on both engines."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from booking.demo import VENUES, seed_demo
from booking.states import ActivityCategory
from booking.tables import Activity, Partner, Room, Session, Venue

#: A Sunday. British Summer Time ends a week later, on Sunday 25 October 2026, inside the four weeks that follow.
TODAY = date(2026, 10, 18)
LONDON = ZoneInfo("Europe/London")
DEMO_SLUGS = [venue.slug for venue in VENUES]


async def seeded() -> None:
    """Load the demo (the shared test database may already hold other tests' venues, hence force)."""
    assert await seed_demo(force=True, today=TODAY) is True


async def demo_sessions() -> list[dict]:
    return await Session.select(
        Session.id,
        Session.starts_at,
        Session.ends_at,
        Session.capacity,
        Session.room.id.as_alias("room_id"),
        Session.room.capacity.as_alias("room_capacity"),
        Session.activity.category.as_alias("category"),
        Session.activity.max_party_size.as_alias("max_party_size"),
    ).where(Session.room.venue.slug.is_in(DEMO_SLUGS))


async def counts() -> tuple[int, ...]:
    return tuple([await table.count() for table in (Partner, Venue, Room, Activity, Session)])


async def test_loads_the_eight_staffordshire_libraries(db):
    await seeded()
    venues = await Venue.select().where(Venue.slug.is_in(DEMO_SLUGS))

    assert len(venues) == 8
    names = {v["name"] for v in venues}
    assert {"Hednesford Library", "Norton Canes Library", "Barton-under-Needwood Library"} <= names
    assert all(v["time_zone"] == "Europe/London" and v["opening_hours"] for v in venues)
    assert {v["postcode"].split()[0] for v in venues} == {"DE13", "ST17", "ST19", "B77", "WS12", "ST16", "WS11"}
    rooms = await Room.select(Room.venue.slug.as_alias("venue")).where(Room.venue.slug.is_in(DEMO_SLUGS))
    per_venue = defaultdict(int)
    for room in rooms:
        per_venue[room["venue"]] += 1
    assert set(per_venue) == set(DEMO_SLUGS) and all(1 <= n <= 3 for n in per_venue.values())


async def test_every_category_has_sessions_within_the_four_weeks(db):
    await seeded()
    sessions = await demo_sessions()

    assert {s["category"] for s in sessions} == {c.value for c in ActivityCategory}
    first_day = datetime.combine(TODAY, datetime.min.time(), tzinfo=LONDON)
    assert all(first_day < s["starts_at"] < first_day + timedelta(weeks=4, days=1) for s in sessions)
    assert all(s["ends_at"] > s["starts_at"] for s in sessions)
    health_checks = [s for s in sessions if s["category"] == ActivityCategory.HEALTH_CHECK.value]
    assert health_checks and all(s["max_party_size"] == 1 and s["capacity"] == 1 for s in health_checks)


async def test_local_start_times_stay_on_the_clock_across_the_dst_change(db):
    await seeded()
    sessions = await demo_sessions()

    local_starts = [s["starts_at"].astimezone(LONDON) for s in sessions]
    assert all(t.minute in (0, 30) and t.second == 0 for t in local_starts)
    offsets = {t.utcoffset() for t in local_starts}
    assert offsets == {timedelta(hours=1), timedelta(0)}  # BST before 25 October, GMT after

    # Hednesford chair yoga is Tuesday 10:30am on the wall clock: 09:30 UTC in BST, 10:30 UTC in GMT.
    yoga = (
        await Session.select(Session.starts_at)
        .where(Session.room.venue.slug == "hednesford")
        .where(Session.activity.slug == "chair-yoga")
        .order_by(Session.starts_at)
    )
    utc_times = [row["starts_at"].astimezone(timezone.utc) for row in yoga]
    assert [t.date() for t in utc_times] == [date(2026, 10, 20) + timedelta(weeks=n) for n in range(4)]
    assert [(t.hour, t.minute) for t in utc_times] == [(9, 30), (10, 30), (10, 30), (10, 30)]


async def test_sessions_fit_their_rooms_and_never_overlap(db):
    await seeded()
    sessions = await demo_sessions()

    assert all(0 < s["capacity"] <= s["room_capacity"] for s in sessions)
    by_room = defaultdict(list)
    for s in sessions:
        by_room[s["room_id"]].append((s["starts_at"], s["ends_at"]))
    for slots in by_room.values():
        slots.sort()
        for (_, earlier_end), (later_start, _) in zip(slots, slots[1:], strict=False):
            assert earlier_end <= later_start


async def test_seeding_again_loads_nothing(db):
    await seeded()
    before = await counts()

    assert await seed_demo(today=TODAY) is False  # venues exist and no force
    assert await seed_demo(force=True, today=TODAY) is True  # force adds only what is missing: nothing
    assert await counts() == before
