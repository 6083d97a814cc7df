"""Read models return the joined facts pages and e-mails need, filtered in SQL."""

from datetime import timedelta

from booking.queries import get_booking, get_booking_by_manage_token, get_session, list_upcoming_sessions
from booking.service import book_place
from booking.validation import ResidentDetails
from tests.builders import make_room, make_session, make_venue


async def test_session_view_carries_venue_activity_and_places(db):
    session = await make_session(capacity=8)
    await book_place(session.id, ResidentDetails("Ann", "ann.q@example.org"), 3)
    view = await get_session(session.id)
    assert view.places_left == 5 and view.activity_title == "Chair yoga"
    assert view.time_zone == "Europe/London" and view.venue_postcode == "WS12 1AA"


async def test_listing_filters_by_venue_in_sql(db):
    venue = await make_venue()
    room = await make_room(venue)
    mine = await make_session(room=room, starts_in=timedelta(days=3))
    other = await make_session(starts_in=timedelta(days=3))
    listed = await list_upcoming_sessions(venue=venue.slug)
    ids = [s.id for s in listed]
    assert mine.id in ids and other.id not in ids


async def test_booking_found_by_manage_token_only(db):
    session = await make_session()
    confirmation = await book_place(session.id, ResidentDetails("Bo", "bo.q@example.org"), 1)
    view = await get_booking_by_manage_token(confirmation.manage_token)
    assert view.reference == confirmation.reference and view.session.id == session.id
    assert await get_booking_by_manage_token("wrong") is None
    assert (await get_booking(confirmation.booking_id)).resident_email == "bo.q@example.org"


async def test_places_held_for_a_waitlist_offer_are_not_shown_as_free(db):
    from booking.tables import Session

    session = await make_session(capacity=5)
    await Session.update({Session.booked: 2, Session.held: 2}).where(Session.id == session.id)
    assert (await get_session(session.id)).places_left == 1
    # Other tests' sessions share the database: list a window around this one, not the first page.
    window = await list_upcoming_sessions(start=session.starts_at, end=session.starts_at + timedelta(seconds=1), limit=500)
    [listed] = [s for s in window if s.id == session.id]
    assert listed.places_left == 1
