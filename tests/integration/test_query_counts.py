"""The reads and the booking transaction send as many SQL statements for a few rows as for many (no N+1).

Each test measures one call twice, on a small and a big set of rows, with Piccolo's own query log
(tests/support/query_count.py), on SQLite and PostgreSQL, and checks the rows really differed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.clock import FixedClock
from booking.my_bookings import my_bookings
from booking.queries import get_session
from booking.register import register_for
from booking.search import SearchFilters, search_sessions
from booking.service import book_place
from booking.tables import Booking, Session
from booking.waitlist import join_waitlist
from tests.builders import fill_session, make_activity, make_room, make_session, make_venue, resident, unique
from tests.support.query_count import QueryLog, counting_queries

SECRET = "test-secret-key-for-query-counts"
FEW, MANY = 3, 60  #: sessions at a venue
ONE, FIFTY = 1, 50  #: bookings in a session
#: bookings or waiting-list places of one resident: enough to show growth, few enough to build quickly
MINE_FEW, MINE_MANY = 1, 12


async def counted(db, call) -> tuple[QueryLog, object]:
    with counting_queries(db.engine) as log:
        result = await call()
    return log, result


def same_count(small: QueryLog, big: QueryLog) -> None:
    assert small.count > 0, "no statements were recorded: the counter is not seeing this engine"
    assert big.count == small.count, f"{small.count} statements for few rows, {big.count} for many:\n{big}"


async def venue_with_sessions(count: int) -> str:
    """A venue whose one room has ``count`` sessions of one activity, two hours apart (no clash)."""
    venue = await make_venue()
    room, activity = await make_room(venue, capacity=30), await make_activity()
    for n in range(count):
        await make_session(room=room, activity=activity, starts_in=timedelta(days=2, hours=2 * n))
    return venue.slug


async def session_with_bookings(count: int) -> Session:
    session = await make_session(capacity=FIFTY + 10)
    await fill_session(session.id, count)
    return session


async def test_whats_on_listing_does_not_grow_with_sessions(db):
    now = datetime.now(UTC)
    small_venue, big_venue = await venue_with_sessions(FEW), await venue_with_sessions(MANY)

    small, few = await counted(db, lambda: search_sessions(SearchFilters(venue=small_venue), now))
    big, many = await counted(db, lambda: search_sessions(SearchFilters(venue=big_venue), now))

    assert (few.total, many.total) == (FEW, MANY)
    assert len(many.sessions) > len(few.sessions)
    same_count(small, big)


async def test_whats_on_with_local_day_filter_does_not_grow_with_sessions(db):
    """Day filters add the venue-table query (time zones): still one, whatever the number of sessions."""
    now = datetime.now(UTC)
    small_venue, big_venue = await venue_with_sessions(FEW), await venue_with_sessions(MANY)
    every_day = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

    small, few = await counted(db, lambda: search_sessions(SearchFilters(venue=small_venue, days=every_day), now))
    big, many = await counted(db, lambda: search_sessions(SearchFilters(venue=big_venue, days=every_day), now))

    assert (few.total, many.total) == (FEW, MANY)
    same_count(small, big)


async def test_session_page_data_does_not_grow_with_bookings(db):
    quiet, busy = await session_with_bookings(ONE), await session_with_bookings(FIFTY)

    small, quiet_view = await counted(db, lambda: get_session(quiet.id))
    big, busy_view = await counted(db, lambda: get_session(busy.id))

    assert (quiet_view.booked, busy_view.booked) == (ONE, FIFTY)
    same_count(small, big)


async def test_booking_transaction_does_not_grow_with_bookings(db):
    quiet, busy = await session_with_bookings(ONE), await session_with_bookings(FIFTY)

    small, _ = await counted(db, lambda: book_place(quiet.id, resident(unique("quiet")), 1))
    big, _ = await counted(db, lambda: book_place(busy.id, resident(unique("busy")), 1))

    assert await Booking.count().where(Booking.session == busy.id) == FIFTY + 1
    same_count(small, big)


async def test_staff_register_does_not_grow_with_bookings_or_queue(db):
    quiet, busy = await session_with_bookings(ONE), await session_with_bookings(FIFTY)
    full = await make_session(capacity=FIFTY)
    await fill_session(full.id, FIFTY)
    clock = FixedClock(datetime.now(UTC))
    for n in range(MINE_MANY):
        await join_waitlist(full.id, resident(unique(f"queue-{n}")), 1, clock)

    small, quiet_register = await counted(db, lambda: register_for(quiet.id))
    big, busy_register = await counted(db, lambda: register_for(busy.id))
    queued, full_register = await counted(db, lambda: register_for(full.id))

    assert (len(quiet_register.lines), len(busy_register.lines)) == (ONE, FIFTY)
    assert len(full_register.waiting) == MINE_MANY
    same_count(small, big)
    same_count(small, queued)


async def resident_with_bookings(count: int) -> int:
    who = resident(unique("mine"))
    confirmations = [await book_place((await make_session()).id, who, 1) for _ in range(count)]
    return confirmations[-1].resident_id


async def resident_waiting_for(count: int) -> int:
    who = resident(unique("waiting"))
    clock = FixedClock(datetime.now(UTC))
    place = None
    for _ in range(count):
        full = await make_session(capacity=1)
        await fill_session(full.id, 1)
        place = await join_waitlist(full.id, who, 1, clock)
    return place.resident_id


async def test_my_bookings_does_not_grow_with_bookings(db):
    now = datetime.now(UTC)
    few_id, many_id = await resident_with_bookings(MINE_FEW), await resident_with_bookings(MINE_MANY)

    small, few = await counted(db, lambda: my_bookings(SECRET, few_id, now=now))
    big, many = await counted(db, lambda: my_bookings(SECRET, many_id, now=now))

    assert (len(few.upcoming), len(many.upcoming)) == (MINE_FEW, MINE_MANY)
    same_count(small, big)


async def test_my_bookings_does_not_grow_with_waiting_list_places(db):
    now = datetime.now(UTC)
    few_id, many_id = await resident_waiting_for(MINE_FEW), await resident_waiting_for(MINE_MANY)

    small, few = await counted(db, lambda: my_bookings(SECRET, few_id, now=now))
    big, many = await counted(db, lambda: my_bookings(SECRET, many_id, now=now))

    assert (len(few.waiting), len(many.waiting)) == (MINE_FEW, MINE_MANY)
    same_count(small, big)
