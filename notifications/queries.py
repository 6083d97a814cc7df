"""What the notification worker re-reads about offers, queue entries and rooms before it writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking.states import BookingStatus, WaitlistMode
from booking.tables import Booking, Room, Session, WaitlistEntry, WaitlistOffer
from booking.timefmt import format_when


@dataclass(frozen=True)
class Offer:
    id: int
    status: str
    party_size: int
    expires_at: datetime
    session: int
    resident: int


@dataclass(frozen=True)
class QueueEntry:
    id: int
    status: str
    party_size: int
    session: int
    resident: int


@dataclass(frozen=True)
class Place:
    """Where and when a session was, for "it has moved" messages (the attributes the templates use)."""

    when: str
    venue_name: str
    room_name: str
    venue_address: str
    venue_postcode: str


async def get_offer(offer_id: int) -> Offer | None:
    row = await WaitlistOffer.select(
        WaitlistOffer.id,
        WaitlistOffer.status,
        WaitlistOffer.party_size,
        WaitlistOffer.expires_at,
        WaitlistOffer.session,
        WaitlistOffer.entry.resident.as_alias("resident"),
    ).where(WaitlistOffer.id == offer_id).first()
    return None if row is None else Offer(**row)


async def get_queue_entry(entry_id: int) -> QueueEntry | None:
    row = await WaitlistEntry.select(
        WaitlistEntry.id,
        WaitlistEntry.status,
        WaitlistEntry.party_size,
        WaitlistEntry.session,
        WaitlistEntry.resident,
    ).where(WaitlistEntry.id == entry_id).first()
    return None if row is None else QueueEntry(**row)


async def books_automatically(session_id: int) -> bool:
    """True when freed places go straight to the next in line rather than being offered."""
    row = await Session.select(Session.activity.waitlist_mode.as_alias("mode")).where(Session.id == session_id).first()
    return row is not None and row["mode"] == WaitlistMode.AUTOMATIC.value


async def confirmed_booking_ids(session_id: int, *, booked_before: datetime) -> list[int]:
    """Bookings still confirmed on a session that were made before ``booked_before``."""
    rows = await Booking.select(Booking.id).where(
        (Booking.session == session_id)
        & (Booking.status == BookingStatus.CONFIRMED.value)
        & (Booking.created_at < booked_before)
    ).order_by(Booking.id)
    return [row["id"] for row in rows]


async def booking_references(booking_ids: list[int]) -> list[str]:
    if not booking_ids:
        return []
    rows = await Booking.select(Booking.reference).where(Booking.id.is_in(booking_ids))
    return [row["reference"] for row in rows]


async def place_of(room_id: int, starts_at: datetime, ends_at: datetime) -> Place | None:
    row = await Room.select(
        Room.name,
        Room.venue.name.as_alias("venue_name"),
        Room.venue.address.as_alias("venue_address"),
        Room.venue.postcode.as_alias("venue_postcode"),
        Room.venue.time_zone.as_alias("time_zone"),
    ).where(Room.id == room_id).first()
    if row is None:
        return None
    return Place(
        when=format_when(starts_at, ends_at, row["time_zone"]),
        venue_name=row["venue_name"],
        room_name=row["name"],
        venue_address=row["venue_address"],
        venue_postcode=row["venue_postcode"],
    )
