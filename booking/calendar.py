"""Calendar files: one ``.ics`` per booking, and a private feed per resident that stays current.

The feed link carries ``"{resident_id}.{calendar_feed_version}.{mac}"``: an HMAC under the secret key
over the id and version. Adding one to ``Resident.calendar_feed_version`` ("Reset link") makes every
earlier link fail, without storing a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from booking.my_bookings import MyBooking
from booking.queries import BookingView
from booking.states import BookingStatus
from booking.tables import Resident
from booking.validation import is_digits
from commons.db import write_transaction

MAC_LENGTH = 32  #: base64url characters kept from the HMAC (192 bits)
PRODID = "-//Commons//Bookings//EN"
REMINDER_BEFORE = timedelta(hours=1)


def _mac(secret_key: str, resident_id: int, version: int) -> str:
    digest = hmac.new(secret_key.encode(), f"calendar:{resident_id}:{version}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_LENGTH]


def feed_token(secret_key: str, resident_id: int, version: int) -> str:
    """The token for ``/calendar/{token}.ics``."""
    return f"{resident_id}.{version}.{_mac(secret_key, resident_id, version)}"


MAX_ROW_ID = 2**31 - 1


def _parse(token: str) -> tuple[int, int] | None:
    parts = (token or "").split(".")
    if len(parts) != 3 or len(parts[2]) != MAC_LENGTH:
        return None
    resident_id, version = parts[0], parts[1]
    if not (is_digits(resident_id) and is_digits(version)) or len(resident_id) > 10 or len(version) > 9:
        return None
    if not 0 < int(resident_id) <= MAX_ROW_ID:  # beyond PostgreSQL's integer ids: no such resident
        return None
    return int(resident_id), int(version)


async def resident_for_feed(secret_key: str, token: str) -> int | None:
    """The resident whose current feed link this is; None for a forged, old or erased resident's link."""
    parsed = _parse(token)
    if parsed is None:
        return None
    resident_id, version = parsed
    if not hmac.compare_digest(token, feed_token(secret_key, resident_id, version)):
        return None
    row = (
        await Resident.select(Resident.calendar_feed_version, Resident.erased_at)
        .where(Resident.id == resident_id)
        .first()
    )
    if row is None or row["erased_at"] is not None or row["calendar_feed_version"] != version:
        return None
    return resident_id


async def current_feed_token(secret_key: str, resident_id: int) -> str | None:
    row = await Resident.select(Resident.calendar_feed_version).where(Resident.id == resident_id).first()
    return None if row is None else feed_token(secret_key, resident_id, row["calendar_feed_version"])


async def reset_feed(resident_id: int) -> None:
    """Every earlier feed link stops working."""
    async with write_transaction(Resident._meta.db):
        await Resident.raw(
            "UPDATE resident SET calendar_feed_version = calendar_feed_version + 1 WHERE id = {}", resident_id
        )


def _event(booking: BookingView, *, host: str, manage_url: str | None, now: datetime) -> Event:
    session = booking.session
    event = Event()
    event.add("uid", f"booking-{booking.reference}@{host}")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    event.add("summary", session.activity_title)
    address = ", ".join(line.strip() for line in session.venue_address.splitlines() if line.strip())
    event.add("location", ", ".join(part for part in (session.venue_name, address, session.venue_postcode) if part))
    places = "1 place" if booking.party_size == 1 else f"{booking.party_size} places"
    description = [f"Booking reference: {booking.reference}", f"{places}, {session.room_name}"]
    if manage_url:
        description.append(f"View or cancel your booking: {manage_url}")
    event.add("description", "\n".join(description))
    cancelled = booking.status == BookingStatus.CANCELLED.value or session.is_cancelled
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{session.activity_title} starts in 1 hour")
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)
    return event


def _calendar(name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def booking_ics(booking: BookingView, *, host: str, manage_url: str | None, now: datetime) -> bytes:
    """One booking as an ``.ics`` file with a reminder an hour before."""
    calendar = _calendar()
    calendar.add("method", "PUBLISH")
    calendar.add_component(_event(booking, host=host, manage_url=manage_url, now=now))
    return calendar.to_ical()


def feed_ics(bookings: list[MyBooking], *, host: str, base_url: str, now: datetime) -> bytes:
    """A resident's feed: cancelled bookings stay in it, marked CANCELLED, so calendar apps remove them."""
    calendar = _calendar("Commons bookings")
    for item in bookings:
        manage_url = f"{base_url}/bookings/manage/{item.manage_token}" if item.manage_token else None
        calendar.add_component(_event(item.booking, host=host, manage_url=manage_url, now=now))
    return calendar.to_ical()
