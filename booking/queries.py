"""Read models for pages, the API and notifications. Filtering happens in SQL, never on a page of rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from booking.rules import (
    BookingWindow,
    WindowState,
    booking_window,
    closed_message,
    describe_rules,
    not_open_yet_message,
)
from booking.states import ActivityCategory, SessionStatus
from booking.tables import Booking, Session
from booking.timefmt import format_when, iso_local
from commons.compiled import Bind, compiled


@dataclass(frozen=True)
class SessionView:
    id: int
    activity_title: str
    activity_slug: str
    category: str
    description: str
    max_party_size: int
    venue_name: str
    venue_slug: str
    venue_address: str
    venue_postcode: str
    time_zone: str
    room_name: str
    step_free_access: bool
    hearing_loop: bool
    accessible_toilet: bool
    partner_name: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    held: int  #: places held for open waitlist offers: not free for the public
    status: str
    # The activity's booking rules (booking/rules.py); defaults match the table's.
    venue_phone: str = ""
    booking_opens_days: int = 28
    booking_closes_hours: int = 1
    max_active_bookings: int = 0

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.booked - self.held, 0)

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED.value

    @property
    def is_full(self) -> bool:
        return self.places_left == 0

    @property
    def when(self) -> str:
        return format_when(self.starts_at, self.ends_at, self.time_zone)

    @property
    def starts_at_local_iso(self) -> str:
        return iso_local(self.starts_at, self.time_zone)

    @property
    def booking_window(self) -> BookingWindow:
        return booking_window(
            self.starts_at, opens_days=self.booking_opens_days, closes_hours=self.booking_closes_hours
        )

    def window_state(self, now: datetime) -> WindowState:
        return self.booking_window.state(now)

    def window_notice(self, now: datetime) -> str | None:
        """Why the form is not shown: booking has not opened yet, or has closed; None while open."""
        state = self.window_state(now)
        if state is WindowState.NOT_OPEN_YET:
            return not_open_yet_message(self.booking_window, self.time_zone)
        if state is WindowState.CLOSED:
            return closed_message(
                self.booking_window,
                self.time_zone,
                closes_hours=self.booking_closes_hours,
                venue_phone=self.venue_phone,
            )
        return None

    @property
    def rules(self) -> list[str]:
        return describe_rules(
            max_party_size=self.max_party_size,
            opens_days=self.booking_opens_days,
            closes_hours=self.booking_closes_hours,
            max_active_bookings=self.max_active_bookings,
        )

    @property
    def category_label(self) -> str:
        try:
            return ActivityCategory(self.category).label
        except ValueError:
            return self.category


_SESSION_COLUMNS = (
    Session.id,
    Session.activity.title.as_alias("activity_title"),
    Session.activity.slug.as_alias("activity_slug"),
    Session.activity.category.as_alias("category"),
    Session.activity.description.as_alias("description"),
    Session.activity.max_party_size.as_alias("max_party_size"),
    Session.room.venue.name.as_alias("venue_name"),
    Session.room.venue.slug.as_alias("venue_slug"),
    Session.room.venue.address.as_alias("venue_address"),
    Session.room.venue.postcode.as_alias("venue_postcode"),
    Session.room.venue.time_zone.as_alias("time_zone"),
    Session.room.name.as_alias("room_name"),
    Session.room.step_free_access.as_alias("step_free_access"),
    Session.room.hearing_loop.as_alias("hearing_loop"),
    Session.room.accessible_toilet.as_alias("accessible_toilet"),
    Session.activity.partner.name.as_alias("partner_name"),
    Session.starts_at,
    Session.ends_at,
    Session.capacity,
    Session.booked,
    Session.held,
    Session.status,
    Session.room.venue.phone.as_alias("venue_phone"),
    Session.activity.booking_opens_days.as_alias("booking_opens_days"),
    Session.activity.booking_closes_hours.as_alias("booking_closes_hours"),
    Session.activity.max_active_bookings.as_alias("max_active_bookings"),
)


async def get_sessions(session_ids: Iterable[int]) -> dict[int, SessionView]:
    """Several sessions by id, in one query."""
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    rows = await Session.select(*_SESSION_COLUMNS).where(Session.id.is_in(ids))
    return {row["id"]: _view(row) for row in rows}


def _view(row: dict) -> SessionView:
    return SessionView(**{key: row[key] for key in SessionView.__dataclass_fields__})


async def list_upcoming_sessions(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    venue: str | None = None,
    category: str | None = None,
    include_cancelled: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[SessionView]:
    """Sessions starting in [start, end), soonest first. ``venue`` is a venue slug."""
    start = start or datetime.now(timezone.utc)
    query = Session.select(*_SESSION_COLUMNS).where(Session.starts_at >= start)
    if end is not None:
        query = query.where(Session.starts_at < end)
    if venue:
        query = query.where(Session.room.venue.slug == venue)
    if category:
        query = query.where(Session.activity.category == category)
    if not include_cancelled:
        query = query.where(Session.status == SessionStatus.SCHEDULED.value)
    rows = await query.order_by(Session.starts_at).order_by(Session.id).limit(limit).offset(offset)
    return [_view(row) for row in rows]


async def get_session(session_id: int) -> SessionView | None:
    query = compiled(Session, "get_session", lambda: Session.select(*_SESSION_COLUMNS).where(Session.id == Bind("id")))
    row = await query.first({"id": session_id})
    return _view(row) if row else None


@dataclass(frozen=True)
class BookingView:
    id: int
    reference: str
    party_size: int
    status: str
    created_at: datetime
    cancelled_at: datetime | None
    resident_name: str
    resident_email: str | None
    resident_phone: str | None
    session: SessionView
    support_note: str = ""


BOOKING_COLUMNS = (
    Booking.id,
    Booking.reference,
    Booking.party_size,
    Booking.status,
    Booking.created_at,
    Booking.cancelled_at,
    Booking.session,
    Booking.resident.name.as_alias("resident_name"),
    Booking.resident.email.as_alias("resident_email"),
    Booking.resident.phone.as_alias("resident_phone"),
    Booking.support_note,
)


def booking_view(row: dict, session: SessionView) -> BookingView:
    """A row of ``BOOKING_COLUMNS`` and its session, as a view."""
    return BookingView(
        id=row["id"],
        reference=row["reference"],
        party_size=row["party_size"],
        status=row["status"],
        created_at=row["created_at"],
        cancelled_at=row["cancelled_at"],
        resident_name=row["resident_name"],
        resident_email=row["resident_email"],
        resident_phone=row["resident_phone"],
        session=session,
        support_note=row["support_note"] or "",
    )


async def _booking_view(row: dict | None) -> BookingView | None:
    if row is None:
        return None
    session = await get_session(row["session"])
    assert session is not None  # bookings cannot outlive their session (FK restrict)
    return booking_view(row, session)


async def get_booking(booking_id: int) -> BookingView | None:
    return await _booking_view(await Booking.select(*BOOKING_COLUMNS).where(Booking.id == booking_id).first())


async def get_booking_by_reference(reference: str) -> BookingView | None:
    return await _booking_view(await Booking.select(*BOOKING_COLUMNS).where(Booking.reference == reference).first())


async def get_booking_by_manage_token(token: str) -> BookingView | None:
    """The booking a manage link opens; None for an unknown or revoked token."""
    from booking.references import hash_token

    if not token:
        return None
    row = await Booking.select(*BOOKING_COLUMNS).where(Booking.manage_token_hash == hash_token(token)).first()
    return await _booking_view(row)
