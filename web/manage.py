"""The manage page a booking's secret link opens: see the booking and cancel it."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from booking.errors import BookingAlreadyCancelled
from booking.manage_links import find_booking_for_manage_link
from booking.queries import BookingView
from booking.service import cancel_booking
from booking.states import BookingStatus

NO_STORE = CacheControlHeader(no_store=True)


async def _booking_or_404(request: Request, token: str) -> BookingView:
    booking = await find_booking_for_manage_link(request.app.state.settings.secret_key, token)
    if booking is None:
        raise NotFoundException()
    return booking


class ManageController(Controller):
    include_in_schema = False
    path = "/bookings/manage/{token:str}"
    cache_control = NO_STORE

    @get("/", name="manage_booking")
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        booking = await _booking_or_404(request, token)
        return Template(
            template_name="manage.html",
            context={
                "booking": booking,
                "token": token,
                "is_cancelled": booking.status == BookingStatus.CANCELLED.value,
            },
        )

    @post("/cancel", name="cancel_booking")
    async def cancel(
        self,
        request: Request,
        token: FromPath[str],
        data: URLEncodedBody[dict[str, str]]
    ) -> Redirect:
        booking = await _booking_or_404(request, token)  # the link is the proof of the right to cancel
        try:
            await cancel_booking(booking.reference, authorised=True, reason=str(data.get("reason", "")))
        except BookingAlreadyCancelled:
            pass  # a second click on the button: the page already says "Cancelled"
        return Redirect(request.app.route_reverse("manage_booking", token=token), status_code=HTTP_303_SEE_OTHER)
