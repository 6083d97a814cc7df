"""The "Find my bookings" read models (booking/my_bookings.py) against real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.clock import FixedClock
from booking.manage_links import find_booking_for_manage_link
from booking.my_bookings import FEED_HISTORY, active_resident, bookings_for_feed, my_bookings, owns_booking
from booking.offer_links import signed_offer_token
from booking.privacy import erase_resident
from booking.service import book_place, cancel_booking
from booking.tables import Booking, Session, WaitlistOffer
from booking.validation import ResidentDetails
from booking.waitlist import OfferMade, join_waitlist, offer_free_places
from tests.builders import fill_session, make_session, make_waitlist_session, unique

SECRET = "test-secret-key-for-my-bookings"


def someone(label: str) -> ResidentDetails:
    return ResidentDetails(name=f"Resident {label}", email=f"{unique(label)}@example.org")


async def move_session(session_id: int, *, starts_in: timedelta, duration: timedelta = timedelta(hours=1)) -> None:
    """Move a booked session in time (bookings can only be made for sessions that have not started)."""
    start = datetime.now(UTC).replace(microsecond=0) + starts_in
    await Session.update({Session.starts_at: start, Session.ends_at: start + duration}).where(Session.id == session_id)


async def booking_in(who: ResidentDetails, *, starts_in: timedelta, party_size: int = 1) -> str:
    session = await make_session()
    confirmation = await book_place(session.id, who, party_size)
    if starts_in != timedelta(days=2):
        await move_session(session.id, starts_in=starts_in)
    return confirmation.reference


async def resident_id_of(reference: str) -> int:
    return (await Booking.select(Booking.resident).where(Booking.reference == reference).first())["resident"]


def references(items) -> list[str]:
    return [item.booking.reference for item in items]


async def test_upcoming_soonest_first_past_most_recent_first(db):
    ada = someone("ada")
    later = await booking_in(ada, starts_in=timedelta(days=9), party_size=2)
    soon = await booking_in(ada, starts_in=timedelta(days=2))
    happening_now = await booking_in(ada, starts_in=timedelta(minutes=-10))  # started, not yet ended
    last_week = await booking_in(ada, starts_in=timedelta(days=-7))
    yesterday = await booking_in(ada, starts_in=timedelta(days=-1))
    resident_id = await resident_id_of(soon)

    mine = await my_bookings(SECRET, resident_id, now=datetime.now(UTC))
    assert references(mine.upcoming) == [happening_now, soon, later]
    assert references(mine.past) == [yesterday, last_week]
    assert mine.waiting == []
    assert [item.booking.party_size for item in mine.upcoming] == [1, 1, 2]
    assert not any(item.is_cancelled for item in mine.upcoming + mine.past)


async def test_every_booking_carries_a_working_manage_link(db):
    ada = someone("ada")
    reference = await booking_in(ada, starts_in=timedelta(days=3))
    mine = await my_bookings(SECRET, await resident_id_of(reference), now=datetime.now(UTC))
    [item] = mine.upcoming
    assert item.manage_token and item.manage_token.startswith(f"{reference}.")
    opened = await find_booking_for_manage_link(SECRET, item.manage_token)
    assert opened is not None and opened.reference == reference
    assert await find_booking_for_manage_link("another-secret", item.manage_token) is None


async def test_a_booking_whose_links_were_revoked_has_no_manage_link(db):
    ada = someone("ada")
    reference = await booking_in(ada, starts_in=timedelta(days=3))
    await Booking.update({Booking.manage_token_hash: ""}).where(Booking.reference == reference)
    [item] = (await my_bookings(SECRET, await resident_id_of(reference), now=datetime.now(UTC))).upcoming
    assert item.manage_token is None


async def test_cancelled_bookings_are_listed_as_cancelled(db):
    ada = someone("ada")
    kept = await booking_in(ada, starts_in=timedelta(days=2))
    cancelled = await booking_in(ada, starts_in=timedelta(days=4))
    await cancel_booking(cancelled, authorised=True, reason="Cannot come")

    mine = await my_bookings(SECRET, await resident_id_of(kept), now=datetime.now(UTC))
    assert references(mine.upcoming) == [kept, cancelled]
    assert [item.is_cancelled for item in mine.upcoming] == [False, True]
    assert mine.upcoming[1].booking.cancelled_at is not None


async def test_waiting_list_places_with_their_position(db):
    session = await make_waitlist_session(2)
    await fill_session(session.id, 2)
    clock = FixedClock()
    first, ada, third = someone("first"), someone("ada"), someone("third")
    await join_waitlist(session.id, first, 1, clock)
    clock.advance(timedelta(seconds=1))
    place = await join_waitlist(session.id, ada, 2, clock)
    clock.advance(timedelta(seconds=1))
    await join_waitlist(session.id, third, 1, clock)

    mine = await my_bookings(SECRET, place.resident_id, now=datetime.now(UTC))
    assert mine.upcoming == [] and mine.past == []
    [waiting] = mine.waiting
    assert waiting.entry_id == place.waitlist_entry_id
    assert waiting.session.id == session.id
    assert waiting.party_size == 2
    assert waiting.position == 2
    assert waiting.offer_token is None and waiting.offer_expires_at is None


async def test_an_open_offer_is_shown_with_its_link_and_expiry(db):
    session = await make_waitlist_session(1)
    [filler] = await fill_session(session.id, 1)
    clock = FixedClock()
    ada = someone("ada")
    place = await join_waitlist(session.id, ada, 1, clock)
    await cancel_booking(filler.reference, authorised=True)
    made = await offer_free_places(session.id, clock)
    [offer] = [item for item in made if isinstance(item, OfferMade)]
    assert offer.resident_id == place.resident_id

    mine = await my_bookings(SECRET, place.resident_id, now=datetime.now(UTC))
    [waiting] = mine.waiting
    row = await WaitlistOffer.select(WaitlistOffer.token_hash).where(WaitlistOffer.id == offer.offer_id).first()
    assert waiting.offer_token == signed_offer_token(SECRET, offer.offer_id, row["token_hash"])
    assert waiting.offer_expires_at == offer.expires_at
    assert waiting.position == 1

    # Once the offer has run out it is no longer shown as open.
    after = await my_bookings(SECRET, place.resident_id, now=offer.expires_at + timedelta(seconds=1))
    assert all(item.offer_token is None for item in after.waiting)


async def test_waiting_places_for_sessions_that_have_started_are_not_shown(db):
    session = await make_waitlist_session(1)
    await fill_session(session.id, 1)
    place = await join_waitlist(session.id, someone("ada"), 1, FixedClock())
    await move_session(session.id, starts_in=timedelta(hours=-1))
    assert (await my_bookings(SECRET, place.resident_id, now=datetime.now(UTC))).waiting == []


async def test_one_residents_query_never_returns_another_residents_rows(db):
    ada, bob = someone("ada"), someone("bob")
    shared = await make_session()
    ada_shared = (await book_place(shared.id, ada, 1)).reference
    bob_shared = (await book_place(shared.id, bob, 1)).reference
    ada_only = await booking_in(ada, starts_in=timedelta(days=5))
    bob_only = await booking_in(bob, starts_in=timedelta(days=5))
    bob_past = await booking_in(bob, starts_in=timedelta(days=-3))
    bob_cancelled = await booking_in(bob, starts_in=timedelta(days=6))
    await cancel_booking(bob_cancelled, authorised=True)
    full = await make_waitlist_session(1)
    await fill_session(full.id, 1)
    bob_waiting = await join_waitlist(full.id, bob, 1, FixedClock())
    ada_id, bob_id = await resident_id_of(ada_shared), await resident_id_of(bob_shared)
    now = datetime.now(UTC)

    ada_mine = await my_bookings(SECRET, ada_id, now=now)
    assert sorted(references(ada_mine.upcoming + ada_mine.past)) == sorted([ada_shared, ada_only])
    assert ada_mine.waiting == []
    assert all(item.booking.resident_email == ada.email for item in ada_mine.upcoming)
    bob_mine = await my_bookings(SECRET, bob_id, now=now)
    assert sorted(references(bob_mine.upcoming + bob_mine.past)) == sorted(
        [bob_shared, bob_only, bob_past, bob_cancelled]
    )
    assert [place.session.id for place in bob_mine.waiting] == [bob_waiting.session_id]

    ada_feed = references(await bookings_for_feed(SECRET, ada_id, now=now))
    assert sorted(ada_feed) == sorted([ada_shared, ada_only])
    assert await owns_booking(ada_id, ada_only)
    assert not await owns_booking(ada_id, bob_only)
    assert not await owns_booking(bob_id, ada_shared)


async def test_the_feed_keeps_thirty_days_of_history_and_cancelled_bookings(db):
    ada = someone("ada")
    upcoming = await booking_in(ada, starts_in=timedelta(days=2))
    recent = await booking_in(ada, starts_in=timedelta(days=-20))
    too_old = await booking_in(ada, starts_in=-(FEED_HISTORY + timedelta(days=1)))
    cancelled = await booking_in(ada, starts_in=timedelta(days=8))
    await cancel_booking(cancelled, authorised=True)
    resident_id = await resident_id_of(upcoming)

    feed = await bookings_for_feed(SECRET, resident_id, now=datetime.now(UTC))
    assert references(feed) == [recent, upcoming, cancelled]
    assert [item.is_cancelled for item in feed] == [False, False, True]
    mine = await my_bookings(SECRET, resident_id, now=datetime.now(UTC))
    assert too_old in references(mine.past)  # still on the bookings page, just not in the feed


async def test_an_erased_resident_is_no_longer_active(db):
    ada = someone("ada")
    reference = await booking_in(ada, starts_in=timedelta(days=2))
    resident_id = await resident_id_of(reference)
    assert await active_resident(resident_id)
    await erase_resident(resident_id)
    assert not await active_resident(resident_id)
    assert not await active_resident(2**31 - 1)  # no such resident
