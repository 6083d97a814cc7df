"""Which venue a thing belongs to, for the staff console's venue checks (one indexed query each)."""

from __future__ import annotations

from booking.staff import VenueScope
from booking.tables import Booking, Room, Series, Session, Venue, WaitlistEntry

MAX_ROW_ID = 2**31 - 1  #: PostgreSQL's serial ids: anything bigger names nothing


async def venue_of(scope: VenueScope, raw_id: object) -> int | None:
    """The venue id of the venue, room, session, series, booking or waiting-list entry; None if there is none."""
    try:
        row_id = int(raw_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not 0 < row_id <= MAX_ROW_ID:
        return None
    if scope is VenueScope.VENUE:
        row = await Venue.select(Venue.id.as_alias("venue")).where(Venue.id == row_id).first()
    elif scope is VenueScope.ROOM:
        row = await Room.select(Room.venue).where(Room.id == row_id).first()
    elif scope is VenueScope.SESSION:
        row = await Session.select(Session.room.venue.as_alias("venue")).where(Session.id == row_id).first()
    elif scope is VenueScope.SERIES:
        row = await Series.select(Series.room.venue.as_alias("venue")).where(Series.id == row_id).first()
    elif scope is VenueScope.BOOKING:
        row = await Booking.select(Booking.session.room.venue.as_alias("venue")).where(Booking.id == row_id).first()
    else:
        row = await WaitlistEntry.select(WaitlistEntry.session.room.venue.as_alias("venue")).where(
            WaitlistEntry.id == row_id
        ).first()
    return None if row is None else row["venue"]
