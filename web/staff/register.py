"""The register pages: attendance (htmx swaps one row; a plain form posts and comes back), walk-ins,
booking on someone's behalf, moving up from the waiting list, and a print view."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, URLEncodedBody
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from booking.audit import record_audit
from booking.errors import BookingError, SessionFull
from booking.queries import get_booking
from booking.referrals import referrals_for_bookings
from booking.register import (
    REGISTER_OPENS_BEFORE,
    InvalidConsentSource,
    Register,
    mark_attendance,
    register_for,
    register_line,
    session_of_booking,
    session_of_entry,
)
from booking.register_bookings import (
    MAX_CANCEL_REASON,
    add_walk_in,
    book_on_behalf,
    cancel_on_behalf,
    join_waitlist_on_behalf,
    move_up,
    parse_consent_source,
    validate_walk_in,
)
from booking.staff import Permission, StaffUser, VenueScope
from booking.states import Attendance, SessionStatus
from booking.timefmt import to_local
from booking.validation import display_uk_phone, validate_booking
from web.bookings import blank_form, new_idempotency_key, read_form, valid_idempotency_key
from web.params import RowId
from web.staff.access import staff_rule
from web.staff.csv_files import csv_download

FormData = URLEncodedBody[dict[str, str]]
SESSION_RULE = staff_rule(Permission.TAKE_REGISTER, VenueScope.SESSION)
NOTICES = {
    "walk-in": "The walk-in has been added and marked as attended.",
    "waitlisted": "They have been added to the waiting list. We have sent them a message to say so.",
    "moved-up": "They have been moved up from the waiting list and booked. We have sent them their booking details.",
    "cancelled": "The booking has been cancelled. We have sent them a message to say so.",
}
BOOKING_RULE = staff_rule(Permission.TAKE_REGISTER, VenueScope.BOOKING)
WALK_IN_FIELDS = ("name", "party_size", "email", "phone", "support_note")
#: Resident messages say "your"; staff are asked about someone else.
STAFF_WORDING = {"Enter your full name": "Enter their full name", "Enter how many places you need": "Enter how many places they need"}


def _now() -> datetime:
    return datetime.now(UTC)


def _can_book(session, now: datetime) -> bool:
    """Staff may still book someone in, or cancel for them: the session is on and has not started."""
    return session.status == SessionStatus.SCHEDULED.value and session.starts_at > now


def register_url(session_id: int, notice: str = "") -> str:
    return f"/staff/sessions/{session_id}/register" + (f"?notice={notice}" if notice else "")


def _see_other(url: str) -> Redirect:
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


async def _register_page(register: Register | int, *, notice: str | None = None, problem: str | None = None,
                         status_code: int = 200, template: str = "register.html") -> Template:
    if not isinstance(register, Register):
        register = await register_for(register)
    now = _now()
    session = register.session
    context = {
        "register": register,
        "session": session,
        "notice": notice,
        "problem": problem,
        "errors": {},
        "is_open": register.is_open(now),
        "opens_at": session.starts_at - REGISTER_OPENS_BEFORE,
        "can_book": _can_book(session, now),
        "is_cancelled": session.is_cancelled,
        "referred": await referrals_for_bookings([line.booking_id for line in register.lines]),
    }
    return Template(template_name=f"staff/{template}", context=context, status_code=status_code)


REGISTER_CSV_COLUMNS = (
    "Reference", "Name", "Email", "Mobile", "Places", "Booked by", "Attendance", "Access or support needs",
)


class RegisterController(Controller):
    path = "/"
    include_in_schema = False

    @get("/sessions/{session_id:int}/register", opt=SESSION_RULE)
    async def register(self, session_id: RowId, notice: FromQuery[str] = "") -> Template:
        return await _register_page(session_id, notice=NOTICES.get(notice))

    @get("/sessions/{session_id:int}/register/print", opt=SESSION_RULE)
    async def print_register(self, session_id: RowId) -> Template:
        return await _register_page(session_id, template="register_print.html")

    @get(
        "/sessions/{session_id:int}/register.csv",
        opt=staff_rule(Permission.EXPORT_PERSONAL_DATA, VenueScope.SESSION),
    )
    async def register_csv(self, staff: NamedDependency[StaffUser], session_id: RowId) -> Response:
        """The attendees with their contact details: personal data, so coordinators and admins only, and audited."""
        register = await register_for(session_id)
        session = register.session
        await record_audit(
            staff, "register.exported", "session", session_id, venue_id=register.venue_id,
            summary=f"Downloaded the register of {session.activity_title} "
            f"({len(register.lines)} bookings, with contact details).",
        )
        rows = [
            [line.reference, line.name, line.email or "", display_uk_phone(line.phone), line.party_size, line.source,
             line.attendance.value, line.support_note]
            for line in register.lines
        ]
        local_date = to_local(session.starts_at, session.time_zone).date().isoformat()
        return csv_download(REGISTER_CSV_COLUMNS, rows, f"commons-register-{session_id}-{local_date}.csv")

    @post("/bookings/{booking_id:int}/attendance", opt=staff_rule(Permission.TAKE_REGISTER, VenueScope.BOOKING))
    async def attendance(self, request: HTMXRequest, staff: NamedDependency[StaffUser], booking_id: RowId, data: FormData) -> Response:
        """One tick. With htmx the answer is the row (and the count, out of band); without, the register again."""
        wanted = str(data.get("attendance") or "")
        try:
            change = await mark_attendance(booking_id, wanted, staff, _now())
        except BookingError as error:
            if request.htmx:
                return await _row(booking_id, wanted, error=error.message, status_code=error.http_status)
            return await _register_page(await _session_of(booking_id), problem=error.message,
                                        status_code=error.http_status)
        if request.htmx:
            return await _row(booking_id, change.attendance.value)
        return _see_other(f"{register_url(change.session_id)}#booking-{booking_id}")

    @post("/waitlist/{entry_id:int}/move-up", opt=staff_rule(Permission.TAKE_REGISTER, VenueScope.WAITLIST_ENTRY))
    async def move_up_entry(self, staff: NamedDependency[StaffUser], entry_id: RowId) -> Response:
        session_id = await _session_of_entry(entry_id)
        try:
            await move_up(entry_id, staff, _now())
        except BookingError as error:
            return await _register_page(session_id, problem=error.message, status_code=error.http_status)
        return _see_other(register_url(session_id, "moved-up"))

    # --- Walk-ins ---------------------------------------------------------------------------------

    @get("/sessions/{session_id:int}/walk-in", opt=SESSION_RULE)
    async def walk_in_form(self, session_id: RowId) -> Template:
        return await _walk_in_page(session_id, {"party_size": "1"}, {})

    @post("/sessions/{session_id:int}/walk-in", opt=SESSION_RULE)
    async def walk_in(self, staff: NamedDependency[StaffUser], session_id: RowId, data: FormData) -> Response:
        form = {name: str(data.get(name) or "")[:1000] for name in WALK_IN_FIELDS}
        register = await register_for(session_id)
        walk_in, errors = validate_walk_in(**form, max_party_size=register.session.max_party_size)
        if walk_in is None:
            return await _walk_in_page(register, form, errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        try:
            await add_walk_in(session_id, walk_in, staff, _now())
        except BookingError as error:
            return await _walk_in_page(session_id, form, {}, problem=error.message, status_code=error.http_status)
        return _see_other(register_url(session_id, "walk-in"))

    # --- Booking on someone's behalf -----------------------------------------------------------------

    @get("/sessions/{session_id:int}/book", opt=SESSION_RULE)
    async def book_form(self, session_id: RowId) -> Template:
        return await _book_page(session_id, blank_form(), {})

    @post("/sessions/{session_id:int}/book", opt=SESSION_RULE)
    async def make_booking(self, staff: NamedDependency[StaffUser], session_id: RowId, data: FormData) -> Response:
        form = read_form(data)
        form["consent_source"] = str(data.get("consent_source") or "")[:20]
        if not valid_idempotency_key(form["idempotency_key"]):
            form["idempotency_key"] = new_idempotency_key()
        register = await register_for(session_id)
        errors: dict[str, str] = {}
        try:
            consent = parse_consent_source(form["consent_source"])
        except InvalidConsentSource as error:
            errors["consent_source"] = error.message
        result = validate_booking(
            name=form["name"], email=form["email"], phone=form["phone"], contact_email=form["contact_email"],
            sms_opt_in=form["sms_opt_in"], party_size=form["party_size"], support_note=form["support_note"],
            max_party_size=register.session.max_party_size,
        )
        errors.update({field: STAFF_WORDING.get(message, message) for field, message in result.errors.items()})
        if errors or result.request is None:
            return await _book_page(register, form, errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        try:
            if data.get("action") == "waitlist":
                await join_waitlist_on_behalf(session_id, result.request, consent, staff, _now())
                return _see_other(register_url(session_id, "waitlisted"))
            confirmation = await book_on_behalf(session_id, result.request, consent, staff, _now(),
                                                idempotency_key=form["idempotency_key"])
        except SessionFull as error:
            message = f"{error.message} You can add them to the waiting list instead."
            return await _book_page(session_id, form, {}, problem=message, offer_waitlist=True,
                                    status_code=HTTP_409_CONFLICT)
        except BookingError as error:
            return await _book_page(session_id, form, {}, problem=error.message, status_code=error.http_status)
        return _see_other(f"/staff/bookings/{confirmation.booking_id}/booked")

    @get("/bookings/{booking_id:int}/cancel", opt=BOOKING_RULE)
    async def cancel_form(self, booking_id: RowId) -> Template:
        """Cancel for someone who asked by phone or at the desk."""
        return await _cancel_page(booking_id, {}, {})

    @post("/bookings/{booking_id:int}/cancel", opt=BOOKING_RULE)
    async def cancel_booking(self, staff: NamedDependency[StaffUser], booking_id: RowId, data: FormData) -> Response:
        form = {"told_us": str(data.get("told_us") or "")[:20], "reason": str(data.get("reason") or "")}
        errors: dict[str, str] = {}
        try:
            told_us = parse_consent_source(form["told_us"])
        except InvalidConsentSource:
            errors["told_us"] = "Select how they asked to cancel"
        if len(form["reason"].strip()) > MAX_CANCEL_REASON:
            errors["reason"] = f"Keep the reason to {MAX_CANCEL_REASON} characters or fewer"
        if errors:
            return await _cancel_page(booking_id, form, errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        try:
            cancellation = await cancel_on_behalf(booking_id, told_us, form["reason"], staff, _now())
        except BookingError as error:
            return await _cancel_page(booking_id, form, {}, problem=error.message, status_code=error.http_status)
        return _see_other(register_url(cancellation.session_id, "cancelled"))

    @get("/bookings/{booking_id:int}/booked", opt=BOOKING_RULE)
    async def booked(self, booking_id: RowId) -> Template:
        """The reference to read out to the person on the phone or at the desk."""
        booking = await get_booking(booking_id)
        if booking is None:
            raise NotFoundException()
        return Template(template_name="staff/book_on_behalf_done.html",
                        context={"booking": booking, "session": booking.session})


async def _cancel_page(booking_id: int, form: dict, errors: dict, *, problem: str | None = None,
                       status_code: int = 200) -> Template:
    booking = await get_booking(booking_id)
    if booking is None:
        raise NotFoundException()
    context = {"booking": booking, "session": booking.session, "form": form, "errors": errors, "problem": problem,
               "max_reason": MAX_CANCEL_REASON}
    return Template(template_name="staff/booking_cancel.html", context=context, status_code=status_code)


async def _row(booking_id: int, pressed: str, *, error: str | None = None, status_code: int = 200) -> Template:
    line = await register_line(booking_id)
    if line is None:
        raise NotFoundException()
    register = await register_for(line.session_id)
    context = {
        "line": line,
        "register": register,
        "is_open": register.is_open(_now()),
        "can_book": _can_book(register.session, _now()),
        "row_error": error,
        "pressed": pressed if pressed in {a.value for a in Attendance} else None,
        "partial": True,
        "referred": await referrals_for_bookings([booking_id]),
    }
    return HTMXTemplate(template_name="staff/_register_row.html", context=context, status_code=status_code)


async def _walk_in_page(register: Register | int, form: dict, errors: dict, *, problem: str | None = None,
                        status_code: int = 200) -> Template:
    if not isinstance(register, Register):
        register = await register_for(register)
    context = {"session": register.session, "register": register, "form": form, "errors": errors,
               "problem": problem, "is_open": register.is_open(_now()), "opens_at":
               register.session.starts_at - REGISTER_OPENS_BEFORE}
    return Template(template_name="staff/walk_in.html", context=context, status_code=status_code)


async def _book_page(register: Register | int, form: dict, errors: dict, *, problem: str | None = None,
                     offer_waitlist: bool = False, status_code: int = 200) -> Template:
    if not isinstance(register, Register):
        register = await register_for(register)
    session = register.session
    context = {
        "session": session,
        "register": register,
        "form": form,
        "errors": errors,
        "problem": problem,
        "offer_waitlist": offer_waitlist or (session.is_full and not session.is_cancelled),
        "can_book": session.status == SessionStatus.SCHEDULED.value and session.starts_at > _now(),
    }
    return Template(template_name="staff/book_on_behalf.html", context=context, status_code=status_code)


async def _session_of(booking_id: int) -> int:
    session_id = await session_of_booking(booking_id)
    if session_id is None:
        raise NotFoundException()
    return session_id


async def _session_of_entry(entry_id: int) -> int:
    session_id = await session_of_entry(entry_id)
    if session_id is None:
        raise NotFoundException()
    return session_id
