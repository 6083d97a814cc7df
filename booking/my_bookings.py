"""Read models for "Find my bookings": one resident's bookings and waiting-list places, by resident id only.

Every query here takes the resident's id (from the signed-in session, never from a URL), so one
resident can never see another's bookings through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.manage_links import signed_manage_token
from booking.offer_links import signed_offer_token
from booking.queries import BOOKING_COLUMNS, BookingView, SessionView, booking_view, get_sessions
from booking.states import ACTIVE_WAITLIST_STATUSES, BookingStatus, WaitlistOfferStatus
from booking.tables import Booking, Resident, WaitlistEntry, WaitlistOffer

FEED_HISTORY = timedelta(days=30)  #: the calendar feed shows bookings from this long ago onwards


@dataclass(frozen=True)
class MyBooking:
    booking: BookingView
    manage_token: str | None  #: signed ``REF.mac``; None when the booking's links were revoked

    @property
    def is_cancelled(self) -> bool:
        return self.booking.status == BookingStatus.CANCELLED.value


@dataclass(frozen=True)
class MyWaitlistPlace:
    entry_id: int
    party_size: int
    position: int  #: 1 is next in line
    session: SessionView
    offer_token: str | None  #: an open offer's signed link token
    offer_expires_at: datetime | None


@dataclass(frozen=True)
class MyBookings:
    upcoming: list[MyBooking]
    past: list[MyBooking]
    waiting: list[MyWaitlistPlace]


async def active_resident(resident_id: int) -> bool:
    """The resident exists and has not erased their data (an erased resident counts as signed out)."""
    return await Resident.exists().where((Resident.id == resident_id) & Resident.erased_at.is_null())


async def _bookings_of(secret_key: str, resident_id: int, *, since: datetime | None = None) -> list[MyBooking]:
    """Two queries however many bookings: the bookings, then their sessions."""
    query = Booking.select(*BOOKING_COLUMNS, Booking.manage_token_hash).where(Booking.resident == resident_id)
    if since is not None:
        query = query.where(Booking.session.starts_at >= since)
    rows = await query.order_by(Booking.session.starts_at).order_by(Booking.id)
    sessions = await get_sessions(row["session"] for row in rows)
    return [
        MyBooking(
            booking_view(row, sessions[row["session"]]),
            signed_manage_token(secret_key, row["reference"], row["manage_token_hash"])
            if row["manage_token_hash"]
            else None,
        )
        for row in rows
    ]


#: Each active entry's place in its session's queue (1 is next), for the sessions given.
_POSITIONS_SQL = (
    "SELECT id, ROW_NUMBER() OVER (PARTITION BY session ORDER BY created_at, id) AS position"
    " FROM waitlist_entry WHERE status IN ({statuses}) AND session IN ({sessions})"
)


async def _positions(session_ids: list[int]) -> dict[int, int]:
    statuses = sorted(ACTIVE_WAITLIST_STATUSES)
    sql = _POSITIONS_SQL.format(
        statuses=", ".join("{}" for _ in statuses), sessions=", ".join("{}" for _ in session_ids)
    )
    rows = await WaitlistEntry.raw(sql, *statuses, *session_ids)
    return {row["id"]: row["position"] for row in rows}


async def _waiting_places(secret_key: str, resident_id: int, now: datetime) -> list[MyWaitlistPlace]:
    """Four queries however many places: the entries, their sessions, the queue positions, open offers."""
    entries = (
        await WaitlistEntry.select(WaitlistEntry.id, WaitlistEntry.session, WaitlistEntry.party_size)
        .where(
            (WaitlistEntry.resident == resident_id)
            & WaitlistEntry.status.is_in(list(ACTIVE_WAITLIST_STATUSES))
            & (WaitlistEntry.session.starts_at > now)
        )
        .order_by(WaitlistEntry.session.starts_at)
    )
    if not entries:
        return []
    sessions = await get_sessions(entry["session"] for entry in entries)
    positions = await _positions(sorted(sessions))
    offers = {
        offer["entry"]: offer
        for offer in await WaitlistOffer.select(
            WaitlistOffer.id, WaitlistOffer.entry, WaitlistOffer.token_hash, WaitlistOffer.expires_at
        ).where(
            WaitlistOffer.entry.is_in([entry["id"] for entry in entries])
            & (WaitlistOffer.status == WaitlistOfferStatus.OPEN.value)
            & (WaitlistOffer.expires_at > now)
        )
    }
    places = []
    for entry in entries:
        session = sessions.get(entry["session"])
        if session is None or session.is_cancelled:
            continue
        offer = offers.get(entry["id"])
        places.append(
            MyWaitlistPlace(
                entry_id=entry["id"],
                party_size=entry["party_size"],
                position=positions[entry["id"]],
                session=session,
                offer_token=signed_offer_token(secret_key, offer["id"], offer["token_hash"]) if offer else None,
                offer_expires_at=offer["expires_at"] if offer else None,
            )
        )
    return places


async def my_bookings(secret_key: str, resident_id: int, *, now: datetime) -> MyBookings:
    """Upcoming (not yet ended, soonest first), past (most recent first) and waiting-list places."""
    bookings = await _bookings_of(secret_key, resident_id)
    upcoming = [b for b in bookings if b.booking.session.ends_at > now]
    past = [b for b in bookings if b.booking.session.ends_at <= now][::-1]
    return MyBookings(upcoming, past, await _waiting_places(secret_key, resident_id, now))


async def bookings_for_feed(secret_key: str, resident_id: int, *, now: datetime) -> list[MyBooking]:
    """The resident's bookings starting from ``FEED_HISTORY`` ago, cancelled ones included."""
    return await _bookings_of(secret_key, resident_id, since=now - FEED_HISTORY)


async def owns_booking(resident_id: int, reference: str) -> bool:
    return await Booking.exists().where((Booking.resident == resident_id) & (Booking.reference == reference))
