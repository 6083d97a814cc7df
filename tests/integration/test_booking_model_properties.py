"""The booking model under random sequences of the real use cases, on real SQLite and PostgreSQL.

A hypothesis state machine books, cancels, queues, offers, accepts, declines, lets time pass, expires
offers, changes capacity and cancels the session, in any order; after every step the session's counts
are checked against its rows. Domain errors (``BookingError``) are expected outcomes; anything else fails.

The test is synchronous and runs the use cases on an event loop of its own, with the tables bound to
an engine made for that loop: hypothesis drives its rules synchronously, so they cannot await on
pytest-asyncio's loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from booking.clock import FixedClock
from booking.errors import BookingError
from booking.programme import cancel_session, change_capacity
from booking.service import BookingConfirmation, book_place, cancel_booking
from booking.states import (
    BookingSource,
    BookingStatus,
    SessionStatus,
    WaitlistEntryStatus,
    WaitlistMode,
    WaitlistOfferStatus,
)
from booking.tables import Booking, Session, WaitlistEntry, WaitlistOffer
from booking.waitlist import OfferMade, accept_offer, decline_offer, expire_offers, join_waitlist, offer_free_places
from commons import db as commons_db
from commons.db import bind_tables, close_pool, engine_for, open_pool
from events.tables import OutboxEvent
from tests.builders import make_waitlist_session, resident

RESIDENTS = 6  #: the pool of people who book and queue in one example
MAX_PARTY = 3

FAST = settings(
    max_examples=10,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,  # no .hypothesis/ directory in the checkout; a failure prints its own reproduction
)


class BookingModel(RuleBasedStateMachine):
    """One fresh session per example; the rules are the use cases a resident, staff or the workers call."""

    loop: asyncio.AbstractEventLoop  #: set by the test before it runs the machine

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock()
        self.session_id = 0
        self.bookings: list[BookingConfirmation] = []  #: every booking made, cancelled or not
        self.offers: list[OfferMade] = []  #: every offer made, whatever became of it
        self.cancelled = False  #: cancel_session succeeded; cancelling again is tried by no rule

    def run(self, coroutine: Awaitable):
        return self.loop.run_until_complete(coroutine)

    @initialize(
        capacity=st.integers(1, 5),
        mode=st.sampled_from(WaitlistMode),
        queued_parties=st.lists(st.integers(1, MAX_PARTY), max_size=3),
        freed=st.integers(0, 2),
    )
    def new_session(self, capacity: int, mode: WaitlistMode, queued_parties: list[int], freed: int) -> None:
        """A full session with a queue, often with offers out: random rules alone rarely get that far."""
        session = self.run(
            make_waitlist_session(capacity, waitlist_mode=mode, starts_in=timedelta(days=4), max_party_size=MAX_PARTY)
        )
        self.session_id = session.id
        for n in range(capacity):
            self.keep([self.attempt("fill", lambda n=n: book_place(self.session_id, self.person(f"f{n}"), 1))])
        for who, party in enumerate(queued_parties):
            self.join_waitlist(who, party)
        for booking in self.bookings[:freed]:
            self.run_cancel_booking(booking)
        if freed:
            self.offer_free_places()

    def person(self, label: int | str):
        return resident(f"{self.session_id}-{label}")  # fresh people for each example's fresh session

    def attempt(self, name: str, use_case: Callable[[], Awaitable]):
        """Run one use case; a named domain error is an outcome. Checks its ``availability.changed``."""
        before = self.run(self.places())
        last_event_id = self.run(self.last_outbox_id())
        try:
            result = self.run(use_case())
        except BookingError as error:
            event(f"{name}: {error.code}")
            result = None
        else:
            event(f"{name}: done")
        after = self.run(self.places())
        changes = self.run(self.availability_events_since(last_event_id))
        if after != before:
            assert changes, f"{name} moved places {before} -> {after} without recording availability.changed"
        if changes:
            assert (changes[-1]["capacity"], changes[-1]["booked"]) == (after["capacity"], after["booked"])
        return result

    def keep(self, made) -> None:
        for outcome in made or []:
            if isinstance(outcome, OfferMade) and outcome.session_id == self.session_id:
                self.offers.append(outcome)
            elif isinstance(outcome, BookingConfirmation) and outcome.session_id == self.session_id:
                self.bookings.append(outcome)

    # --- Rules -----------------------------------------------------------------------------------

    @rule(who=st.integers(0, RESIDENTS - 1), party=st.integers(1, MAX_PARTY))
    def book(self, who: int, party: int) -> None:
        confirmation = self.attempt(
            "book", lambda: book_place(self.session_id, self.person(who), party, now=self.clock.now())
        )
        self.keep([confirmation])

    @precondition(lambda self: self.bookings)
    @rule(data=st.data())
    def cancel_booking(self, data) -> None:
        self.run_cancel_booking(data.draw(st.sampled_from(self.bookings)))

    def run_cancel_booking(self, booking: BookingConfirmation) -> None:
        self.attempt(
            "cancel booking",
            lambda: cancel_booking(booking.reference, manage_token=booking.manage_token, now=self.clock.now()),
        )

    @rule(who=st.integers(0, RESIDENTS - 1), party=st.integers(1, MAX_PARTY))
    def join_waitlist(self, who: int, party: int) -> None:
        self.attempt("join waitlist", lambda: join_waitlist(self.session_id, self.person(who), party, self.clock))

    @rule()
    def offer_free_places(self) -> None:
        self.keep(self.attempt("offer free places", lambda: offer_free_places(self.session_id, self.clock)))

    @precondition(lambda self: self.offers)
    @rule(data=st.data())
    def accept_offer(self, data) -> None:
        offer = data.draw(st.sampled_from(self.offers))
        self.keep([self.attempt("accept offer", lambda: accept_offer(offer.token, self.clock))])

    @precondition(lambda self: self.offers)
    @rule(data=st.data())
    def decline_offer(self, data) -> None:
        offer = data.draw(st.sampled_from(self.offers))
        self.keep(self.attempt("decline offer", lambda: decline_offer(offer.token, self.clock)))

    @rule(hours=st.sampled_from([1, 6, 13]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule()
    def expire_offers(self) -> None:
        expired = self.attempt("expire offers", lambda: expire_offers(self.clock))
        self.keep(expired.next_in_line if expired else [])

    @rule(capacity=st.integers(1, 8))
    def change_capacity(self, capacity: int) -> None:
        self.attempt("change capacity", lambda: change_capacity(self.session_id, capacity, self.clock.now()))

    @precondition(lambda self: not self.cancelled)
    @rule()
    def cancel_session(self) -> None:
        cancellation = self.attempt(
            "cancel session", lambda: cancel_session(self.session_id, "Sorry", self.clock.now())
        )
        self.cancelled = cancellation is not None

    # --- Invariants, read from the database after every step --------------------------------------

    @invariant()
    def counts_match_the_rows(self) -> None:
        if not self.session_id:
            return
        places = self.run(self.places())
        confirmed = self.run(self.confirmed_bookings())
        open_offers = self.run(self.open_offers())
        assert places["booked"] == sum(row["party_size"] for row in confirmed)
        assert places["held"] == sum(row["party_size"] for row in open_offers)
        if places["status"] == SessionStatus.CANCELLED.value:
            assert places["booked"] == places["held"] == 0 and confirmed == [] and open_offers == []
        else:
            assert places["booked"] + places["held"] <= places["capacity"]
        residents = [row["resident"] for row in confirmed]
        assert len(residents) == len(set(residents)), "a resident holds two confirmed bookings"

    @invariant()
    def waiting_list_agrees_with_offers_and_bookings(self) -> None:
        if not self.session_id:
            return
        entries = self.run(self.entries())
        for offer in self.run(self.open_offers()):
            assert entries[offer["entry"]]["status"] == WaitlistEntryStatus.OFFERED.value
        booked_entries = [entry for entry in entries.values() if entry["status"] == WaitlistEntryStatus.BOOKED.value]
        from_waitlist = self.run(self.waitlist_bookings())
        # An entry is booked once, by the booking it became (which may have been cancelled since).
        assert len(booked_entries) == len(from_waitlist)
        assert {entry["resident"] for entry in booked_entries} == {row["resident"] for row in from_waitlist}

    # --- Reads ------------------------------------------------------------------------------------

    async def places(self) -> dict:
        return await Session.select(Session.capacity, Session.booked, Session.held, Session.status).where(
            Session.id == self.session_id
        ).first()

    async def confirmed_bookings(self) -> list[dict]:
        return await Booking.select(Booking.resident, Booking.party_size).where(
            (Booking.session == self.session_id) & (Booking.status == BookingStatus.CONFIRMED.value)
        )

    async def waitlist_bookings(self) -> list[dict]:
        return await Booking.select(Booking.resident).where(
            (Booking.session == self.session_id) & (Booking.source == BookingSource.WAITLIST.value)
        )

    async def open_offers(self) -> list[dict]:
        return await WaitlistOffer.select(WaitlistOffer.entry, WaitlistOffer.party_size).where(
            (WaitlistOffer.session == self.session_id) & (WaitlistOffer.status == WaitlistOfferStatus.OPEN.value)
        )

    async def entries(self) -> dict[int, dict]:
        rows = await WaitlistEntry.select(WaitlistEntry.id, WaitlistEntry.status, WaitlistEntry.resident).where(
            WaitlistEntry.session == self.session_id
        )
        return {row["id"]: row for row in rows}

    async def last_outbox_id(self) -> int:
        row = await OutboxEvent.select(OutboxEvent.id).order_by(OutboxEvent.id, ascending=False).first()
        return row["id"] if row else 0

    async def availability_events_since(self, outbox_id: int) -> list[dict]:
        rows = await OutboxEvent.select(OutboxEvent.payload).where(
            (OutboxEvent.id > outbox_id) & (OutboxEvent.type == "availability.changed")
        ).order_by(OutboxEvent.id)
        data = [json.loads(row["payload"])["data"] for row in rows]
        return [d for d in data if d["session_id"] == self.session_id]


def test_random_sequences_of_use_cases_keep_the_books_straight(engine):
    loop = asyncio.new_event_loop()
    own_engine = engine_for(engine.url)  # its pool (PostgreSQL) belongs to this loop
    loop.run_until_complete(open_pool(own_engine, max_size=4))
    bind_tables(own_engine)
    BookingModel.loop = loop
    try:
        run_state_machine_as_test(BookingModel, settings=FAST)
    finally:
        loop.run_until_complete(close_pool(own_engine))
        loop.close()
        # The SQLite writer lock was made on this loop; no later engine may inherit it by a reused id().
        commons_db._sqlite_write_locks.pop(id(own_engine), None)
        bind_tables(engine.engine)
