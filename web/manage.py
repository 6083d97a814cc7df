"""The manage page a booking's secret link opens: see the booking, add it to a calendar, cancel it or
give back some places.

The link is the proof of the right to see and change the booking: the random token from the
confirmation page or the API, or the signed ``REF.mac`` token from e-mails (booking/manage_links.py).
Every form works as a plain POST with a 303; htmx posts the same forms and swaps the main section.
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from booking.calendar import booking_ics
from booking.errors import BookingAlreadyCancelled, BookingError
from booking.manage_links import find_booking_for_manage_link
from booking.queries import BookingView
from booking.service import cancel_booking, reduce_party_size
from booking.states import BookingStatus
from booking.validation import is_digits
from web.account import calendar_host

NO_STORE = CacheControlHeader(no_store=True)
MAX_REASON_LENGTH = 500
FormData = URLEncodedBody[dict[str, str]]
NOTICES = {
    "cancelled": "Your booking has been cancelled",
    "reduced": "The number of places has been changed",
}


async def _booking_or_404(request: Request, token: str) -> BookingView:
    booking = await find_booking_for_manage_link(request.app.state.settings.secret_key, token)
    if booking is None:
        raise NotFoundException()
    return booking


def _state(booking: BookingView, now: datetime) -> dict:
    """What the resident may still do, and if not, why not."""
    is_cancelled = booking.status == BookingStatus.CANCELLED.value
    started = booking.session.starts_at <= now
    why_not = None
    if is_cancelled:
        why_not = None
    elif booking.session.is_cancelled:
        why_not = "This session has been cancelled by the organisers, so there is nothing to change."
    elif started:
        why_not = "This session has already started, so the booking can no longer be changed or cancelled."
    return {
        "booking": booking,
        "is_cancelled": is_cancelled,
        "can_change": not is_cancelled and why_not is None,
        "why_not": why_not,
        "personal": True,
    }


def _page(template: str, booking: BookingView, token: str, status_code: int = 200, **extra) -> Template:
    context = {**_state(booking, datetime.now(UTC)), "token": token, "form": {}, "errors": {}, **extra}
    return Template(template_name=template, context=context, status_code=status_code)


def _back_to_manage(request: Request, token: str, notice: str) -> Redirect:
    url = request.app.route_reverse("manage_booking", token=token)
    return Redirect(f"{url}?notice={notice}", status_code=HTTP_303_SEE_OTHER)


class ManageController(Controller):
    include_in_schema = False
    path = "/bookings/manage/{token:str}"
    cache_control = NO_STORE

    @get("/", name="manage_booking")
    async def show(self, request: Request, token: FromPath[str], notice: FromQuery[str | None] = None) -> Template:
        booking = await _booking_or_404(request, token)
        return _page("manage.html", booking, token, notice=NOTICES.get(notice or ""))

    @get("/cancel", name="confirm_cancel_booking")
    async def confirm_cancel(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        booking = await _booking_or_404(request, token)
        if booking.status == BookingStatus.CANCELLED.value:
            return _back_to_manage(request, token, "cancelled")
        return _page("manage_cancel.html", booking, token)

    @post("/cancel", name="cancel_booking")
    async def cancel(self, request: Request, token: FromPath[str], data: FormData) -> Response:
        booking = await _booking_or_404(request, token)  # the link is the proof of the right to cancel
        reason = str(data.get("reason", ""))
        state = _state(booking, datetime.now(UTC))
        if state["is_cancelled"]:
            return _back_to_manage(request, token, "cancelled")  # a second click: the page says "Cancelled"
        if not state["can_change"]:
            return _page("manage_cancel.html", booking, token, HTTP_409_CONFLICT, form={"reason": reason},
                         problem=state["why_not"])
        if len(reason.strip()) > MAX_REASON_LENGTH:
            return _page(
                "manage_cancel.html",
                booking,
                token,
                HTTP_422_UNPROCESSABLE_ENTITY,
                form={"reason": reason},
                errors={"reason": f"Reason must be {MAX_REASON_LENGTH} characters or fewer"},
            )
        try:
            await cancel_booking(booking.reference, authorised=True, reason=reason.strip())
        except BookingAlreadyCancelled:
            pass  # cancelled in another tab meanwhile: the page already says "Cancelled"
        return _back_to_manage(request, token, "cancelled")

    @get("/party-size", name="change_party_size")
    async def party_size_form(self, request: Request, token: FromPath[str]) -> Template:
        booking = await _booking_or_404(request, token)
        return _page("manage_party_size.html", booking, token)

    @post("/party-size", name="reduce_party_size")
    async def reduce(self, request: Request, token: FromPath[str], data: FormData) -> Response:
        booking = await _booking_or_404(request, token)
        text = str(data.get("party_size", "")).strip()[:10]
        state = _state(booking, datetime.now(UTC))
        if state["is_cancelled"]:
            return _back_to_manage(request, token, "cancelled")
        if not state["can_change"]:
            return _page("manage_party_size.html", booking, token, HTTP_409_CONFLICT, form={"party_size": text},
                         problem=state["why_not"])
        if not text:
            message = "Enter how many places you need"
        elif not is_digits(text):
            message = "Number of places must be a whole number, like 2"
        else:
            try:
                await reduce_party_size(booking.reference, int(text), authorised=True)
            except BookingError as exc:
                message = exc.message
            else:
                return _back_to_manage(request, token, "reduced")
        return _page(
            "manage_party_size.html",
            booking,
            token,
            HTTP_422_UNPROCESSABLE_ENTITY,
            form={"party_size": text},
            errors={"party_size": message},
        )

    @get("/calendar.ics", name="booking_calendar")
    async def calendar(self, request: Request, token: FromPath[str]) -> Response[bytes]:
        booking = await _booking_or_404(request, token)
        base_url = request.app.state.settings.base_url.rstrip("/")
        body = booking_ics(
            booking,
            host=calendar_host(request),
            manage_url=f"{base_url}/bookings/manage/{token}",
            now=datetime.now(UTC),
        )
        return Response(
            body,
            media_type="text/calendar",
            headers={"Content-Disposition": f'attachment; filename="commons-{booking.reference}.ics"'},
        )
