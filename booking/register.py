"""The register: who is coming to a session, and marking attendance. Walk-ins, booking for someone who
phones or comes in, and moving someone up from the waiting list are in ``booking/register_bookings.py``.
Every change is one transaction with its outbox events and its audit entry.

Which rules apply when staff book (see docs/decisions.md):

- Capacity always: every place goes through the same conditional UPDATE as ``book_place``
  (``booked + held + n <= capacity``), so places held by waiting-list offers are never taken and a
  session is never overbooked.
- The activity's booking window and active-bookings limit do not apply to staff (``book_place`` rules
  only ``online`` and ``api`` bookings); the most places one booking may take does.
- Booking on someone's behalf needs a session that has not started (``book_place``); once it has
  started, the person is a walk-in.
- Attendance and walk-ins belong to the register, which is open from ``REGISTER_OPENS_BEFORE`` the start
  until ``REGISTER_CLOSES_AFTER`` the end (time to copy up a paper register).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from booking.audit import record_audit
from booking.errors import (
    BookingAlreadyCancelled,
    BookingError,
    BookingNotFound,
    SessionCancelled,
    SessionNotFound,
)
from booking.queries import SessionView, get_session
from booking.staff import StaffUser
from booking.states import (
    ACTIVE_WAITLIST_STATUSES,
    Attendance,
    BookingSource,
    BookingStatus,
    ConsentSource,
    SessionStatus,
)
from booking.tables import Booking, Session, WaitlistEntry
from commons.db import write_transaction
from events.outbox import record_event

REGISTER_OPENS_BEFORE = timedelta(hours=1)  #: attendance and walk-ins from this long before the start
REGISTER_CLOSES_AFTER = timedelta(days=7)  #: until this long after the end
#: How a resident told staff they agree to us holding their details, and the booking source that goes with it.
ON_BEHALF_SOURCES = {ConsentSource.PHONE: BookingSource.PHONE, ConsentSource.IN_PERSON: BookingSource.IN_PERSON}
ATTENDANCE_WORDS = {
    Attendance.ATTENDED: "attended",
    Attendance.NO_SHOW: "a no-show",
    Attendance.UNMARKED: "not marked",
}


# --- Errors -------------------------------------------------------------------------------------


class RegisterNotOpen(BookingError):
    code = "register_not_open"
    message = "The register opens 1 hour before the session starts."


class RegisterClosed(BookingError):
    code = "register_closed"
    message = "The register closed 7 days after the session ended, so it can no longer be changed."


class InvalidAttendance(BookingError):
    code = "invalid_attendance"
    message = "Choose Attended or No-show."
    http_status = 422


class InvalidConsentSource(BookingError):
    code = "invalid_consent_source"
    message = "Select how they gave consent: by phone or in person."
    http_status = 422


class WaitlistEntryNotFound(BookingError):
    code = "waitlist_entry_not_found"
    message = "We could not find that place on the waiting list."
    http_status = 404


class NoLongerWaiting(BookingError):
    code = "no_longer_waiting"
    message = "This person is no longer on the waiting list. Reload the register to see the latest."


class NotEnoughPlacesToMoveUp(BookingError):
    code = "not_enough_places"
    message = "There are not enough free places to move this person up."


class SessionEnded(BookingError):
    code = "session_ended"
    message = "This session has ended, so nobody can be moved up from its waiting list."


# --- Reading the register -----------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterLine:
    """A confirmed booking, as the register shows it."""

    booking_id: int
    session_id: int
    reference: str
    resident_id: int
    name: str
    email: str | None
    phone: str | None
    party_size: int
    support_note: str
    source: str
    attendance: Attendance
    status: str = BookingStatus.CONFIRMED.value  #: a line fetched alone may have been cancelled meanwhile

    @property
    def is_cancelled(self) -> bool:
        return self.status == BookingStatus.CANCELLED.value

    @property
    def is_marked(self) -> bool:
        return self.attendance is not Attendance.UNMARKED


@dataclass(frozen=True)
class WaitingLine:
    entry_id: int
    resident_id: int
    name: str
    email: str | None
    phone: str | None
    party_size: int
    status: str  #: waiting | offered
    position: int  #: 1 is next in line


@dataclass(frozen=True)
class Register:
    session: SessionView
    venue_id: int
    lines: list[RegisterLine] = field(default_factory=list)
    waiting: list[WaitingLine] = field(default_factory=list)

    @property
    def marked(self) -> int:
        return sum(1 for line in self.lines if line.is_marked)

    @property
    def people_booked(self) -> int:
        return sum(line.party_size for line in self.lines)

    @property
    def people_attended(self) -> int:
        return sum(line.party_size for line in self.lines if line.attendance is Attendance.ATTENDED)

    def is_open(self, now: datetime) -> bool:
        return register_problem(self.session.starts_at, self.session.ends_at, self.session.status, now) is None


def register_window(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """When attendance may be marked and walk-ins added. Pure."""
    return starts_at - REGISTER_OPENS_BEFORE, ends_at + REGISTER_CLOSES_AFTER


def register_problem(starts_at: datetime, ends_at: datetime, status: str, now: datetime) -> BookingError | None:
    """Why the register cannot be changed now, or None. Pure."""
    if status == SessionStatus.CANCELLED.value:
        return SessionCancelled("This session has been cancelled, so its register cannot be changed.")
    opens, closes = register_window(starts_at, ends_at)
    if now < opens:
        return RegisterNotOpen()
    if now > closes:
        return RegisterClosed()
    return None


_LINE_COLUMNS = (
    Booking.id,
    Booking.session,
    Booking.status,
    Booking.reference,
    Booking.resident,
    Booking.party_size,
    Booking.support_note,
    Booking.source,
    Booking.attendance,
    Booking.resident.name.as_alias("name"),
    Booking.resident.email.as_alias("email"),
    Booking.resident.phone.as_alias("phone"),
)


def _line(row: dict) -> RegisterLine:
    return RegisterLine(
        booking_id=row["id"],
        session_id=row["session"],
        reference=row["reference"],
        resident_id=row["resident"],
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        party_size=row["party_size"],
        support_note=row["support_note"] or "",
        source=row["source"],
        attendance=Attendance(row["attendance"]),
        status=row["status"],
    )


async def register_for(session_id: int) -> Register:
    """The confirmed bookings (by name) and the waiting list (in queue order) of one session."""
    session = await get_session(session_id)
    venue = await Session.select(Session.room.venue.as_alias("venue")).where(Session.id == session_id).first()
    if session is None or venue is None:
        raise SessionNotFound()
    rows = await Booking.select(*_LINE_COLUMNS).where(
        (Booking.session == session_id) & (Booking.status == BookingStatus.CONFIRMED.value)
    ).order_by(Booking.resident.name).order_by(Booking.id)
    queue = await WaitlistEntry.select(
        WaitlistEntry.id,
        WaitlistEntry.resident,
        WaitlistEntry.party_size,
        WaitlistEntry.status,
        WaitlistEntry.resident.name.as_alias("name"),
        WaitlistEntry.resident.email.as_alias("email"),
        WaitlistEntry.resident.phone.as_alias("phone"),
    ).where(
        (WaitlistEntry.session == session_id) & WaitlistEntry.status.is_in(list(ACTIVE_WAITLIST_STATUSES))
    ).order_by(WaitlistEntry.created_at).order_by(WaitlistEntry.id)
    waiting = [
        WaitingLine(row["id"], row["resident"], row["name"], row["email"], row["phone"], row["party_size"],
                    row["status"], position)
        for position, row in enumerate(queue, start=1)
    ]
    return Register(session, venue["venue"], [_line(row) for row in rows], waiting)


async def register_line(booking_id: int) -> RegisterLine | None:
    """One booking's line, even if it was cancelled meanwhile (None if there is no such booking)."""
    row = await Booking.select(*_LINE_COLUMNS).where(Booking.id == booking_id).first()
    return _line(row) if row else None


async def session_of_booking(booking_id: int) -> int | None:
    row = await Booking.select(Booking.session).where(Booking.id == booking_id).first()
    return None if row is None else row["session"]


async def session_of_entry(entry_id: int) -> int | None:
    row = await WaitlistEntry.select(WaitlistEntry.session).where(WaitlistEntry.id == entry_id).first()
    return None if row is None else row["session"]


# --- Attendance ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceChange:
    booking_id: int
    session_id: int
    attendance: Attendance
    changed: bool  #: False when it already said so: nothing was recorded


def parse_attendance(value: object) -> Attendance:
    try:
        return Attendance(str(value or "").strip())
    except ValueError:
        raise InvalidAttendance() from None


async def mark_attendance(booking_id: int, attendance: Attendance | str, actor: StaffUser, now: datetime) -> AttendanceChange:
    """Mark a confirmed booking attended or a no-show, or take the mark back (``unmarked``). Idempotent."""
    attendance = parse_attendance(attendance.value if isinstance(attendance, Attendance) else attendance)
    async with write_transaction(Booking._meta.db):
        booking = await Booking.select(
            Booking.id,
            Booking.status,
            Booking.attendance,
            Booking.resident,
            Booking.session,
            Booking.resident.name.as_alias("name"),
            Booking.session.status.as_alias("session_status"),
            Booking.session.starts_at.as_alias("starts_at"),
            Booking.session.ends_at.as_alias("ends_at"),
            Booking.session.room.venue.as_alias("venue"),
        ).where(Booking.id == booking_id).first()
        if booking is None:
            raise BookingNotFound()
        if booking["status"] != BookingStatus.CONFIRMED.value:
            raise BookingAlreadyCancelled("This booking has been cancelled, so attendance cannot be marked.")
        problem = register_problem(booking["starts_at"], booking["ends_at"], booking["session_status"], now)
        if problem is not None:
            raise problem
        # Conditional on the value changing: two taps at once record one change, not two.
        changed = await Booking.raw(
            "UPDATE booking SET attendance = {}, attendance_marked_at = {} "
            "WHERE id = {} AND status = {} AND attendance <> {} RETURNING id",
            attendance.value,
            None if attendance is Attendance.UNMARKED else now,
            booking_id,
            BookingStatus.CONFIRMED.value,
            attendance.value,
        )
        if not changed:
            return AttendanceChange(booking_id, booking["session"], attendance, changed=False)
        await record_event(
            "booking.attendance_marked",
            {"booking_id": booking_id, "session_id": booking["session"], "attendance": attendance.value},
        )
        await record_audit(
            actor,
            "booking.attendance_marked",
            "booking",
            booking_id,
            summary=f"Marked {booking['name']} as {ATTENDANCE_WORDS[attendance]}.",
            before={"attendance": booking["attendance"]},
            after={"attendance": attendance.value},
            venue_id=booking["venue"],
            resident_id=booking["resident"],
            now=now,
        )
    return AttendanceChange(booking_id, booking["session"], attendance, changed=True)
