"""Joining a full session's waiting list from the session page, and the confirmation that follows."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Response, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from booking.clock import SystemClock
from booking.errors import BookingError, PlacesAvailable
from booking.queries import get_session
from booking.waitlist import join_waitlist
from web.bookings import FormData, read_form, see_other, session_or_404, session_page, validate_form
from web.browser_bookings import JoinedWaitlist, joined_waitlist, remember_waitlist
from web.params import RowId


class WaitlistController(Controller):
    include_in_schema = False

    @post("/sessions/{session_id:int}/waitlist", name="join_waitlist")
    async def join(self, request: HTMXRequest, session_id: RowId, data: FormData) -> Response:
        session = await session_or_404(session_id)
        form = read_form(data)
        result = validate_form({**form, "support_note": ""}, session)  # no support note on the waiting list
        if not result.ok:
            return session_page(
                request, session, form=form, errors=result.errors, waitlist=True, status_code=HTTP_400_BAD_REQUEST
            )
        assert result.request is not None
        resident = result.request.resident
        try:
            place = await join_waitlist(session_id, resident, result.request.party_size, SystemClock())
        except BookingError as error:
            session = await session_or_404(session_id)  # show the places as they are now
            # Places came free: show the booking form, with what they typed, instead of the queue.
            waitlist = not isinstance(error, PlacesAvailable)
            return session_page(
                request, session, form=form, problem=error.message, waitlist=waitlist, status_code=error.http_status
            )
        joined = JoinedWaitlist(
            place.waitlist_entry_id,
            session_id,
            place.position,
            place.party_size,
            resident.email if resident.contact_by_email and resident.email else "",
            resident.sms_opt_in,
        )
        remember_waitlist(request, joined)
        return see_other(request, request.app.route_reverse("waitlist_confirmation", entry_id=joined.entry_id))

    @get(
        "/waitlist/{entry_id:int}/confirmation",
        name="waitlist_confirmation",
        cache_control=CacheControlHeader(no_store=True),
    )
    async def confirmation(self, request: Request, entry_id: RowId) -> Template:
        """Only the browser that joined sees this page; everyone else gets a 404."""
        joined = joined_waitlist(request, entry_id)
        session = await get_session(joined.session_id) if joined else None
        if joined is None or session is None:
            raise NotFoundException()
        return Template(template_name="waitlist_joined.html", context={"joined": joined, "session": session})
