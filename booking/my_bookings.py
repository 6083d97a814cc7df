"""Read models for "Find my bookings": one resident's bookings and waiting-list places, by resident id only.

Every query here takes the resident's id (from the signed-in session, never from a URL), so one
resident can never see another's bookings through these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.manage_links import signed_manage_token
from booking.offer_links import signed_offer_token
from booking.queries import BookingView, SessionView, get_booking, get_session
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
    query = Booking.select(Booking.id, Booking.reference, Booking.manage_token_hash).where(
        Booking.resident == resident_id
    )
    if since is not None:
        query = query.where(Booking.session.starts_at >= since)
    rows = await query.order_by(Booking.session.starts_at).order_by(Booking.id)
    result = []
    for row in rows:
        view = await get_booking(row["id"])
        if view is None:
            continue
        token = (
            signed_manage_token(secret_key, row["reference"], row["manage_token_hash"])
            if row["manage_token_hash"]
            else None
        )
        result.append(MyBooking(view, token))
    return result


async def _waiting_places(secret_key: str, resident_id: int, now: datetime) -> list[MyWaitlistPlace]:
    entries = (
        await WaitlistEntry.select(
            WaitlistEntry.id, WaitlistEntry.session, WaitlistEntry.party_size, WaitlistEntry.created_at
        )
        .where(
            (WaitlistEntry.resident == resident_id)
            & WaitlistEntry.status.is_in(list(ACTIVE_WAITLIST_STATUSES))
            & (WaitlistEntry.session.starts_at > now)
        )
        .order_by(WaitlistEntry.session.starts_at)
    )
    places = []
    for entry in entries:
        session = await get_session(entry["session"])
        if session is None or session.is_cancelled:
            continue
        ahead = await WaitlistEntry.count().where(
            (WaitlistEntry.session == entry["session"])
            & WaitlistEntry.status.is_in(list(ACTIVE_WAITLIST_STATUSES))
            & (
                (WaitlistEntry.created_at < entry["created_at"])
                | ((WaitlistEntry.created_at == entry["created_at"]) & (WaitlistEntry.id < entry["id"]))
            )
        )
        offer = (
            await WaitlistOffer.select(WaitlistOffer.id, WaitlistOffer.token_hash, WaitlistOffer.expires_at)
            .where(
                (WaitlistOffer.entry == entry["id"])
                & (WaitlistOffer.status == WaitlistOfferStatus.OPEN.value)
                & (WaitlistOffer.expires_at > now)
            )
            .first()
        )
        places.append(
            MyWaitlistPlace(
                entry_id=entry["id"],
                party_size=entry["party_size"],
                position=ahead + 1,
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
