"""The session page and its booking form: works as a plain form, and htmx swaps just the form.

A full session shows the waiting-list form in the same place (``web/waitlist.py`` handles it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import ClientRedirect, HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER, HTTP_400_BAD_REQUEST

from booking.errors import BookingError, SessionFull
from booking.queries import SessionView, get_booking_by_manage_token, get_session
from booking.service import book_place
from booking.states import BookingSource
from booking.validation import validate_booking
from web.browser_bookings import manage_token_for, remember
from web.params import RowId

#: The booking and waiting-list forms ask for the same details, so input carries over between them.
FORM_FIELDS = ("name", "email", "phone", "sms_opt_in", "party_size")
FormData = URLEncodedBody[dict[str, str]]


def read_form(data: dict[str, str]) -> dict[str, str]:
    return {name: str(data.get(name, "")) for name in FORM_FIELDS}


async def session_or_404(session_id: int) -> SessionView:
    session = await get_session(session_id)
    if session is None:
        raise NotFoundException()
    return session


def session_page(
    request: HTMXRequest,
    session: SessionView,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    waitlist: bool = False,
    status_code: int = 200,
) -> Template:
    """The full session page, or only the form area when htmx asked.

    A full session always shows the waiting-list form; ``waitlist`` shows it while a few places are
    left too, for a party bigger than what is left.
    """
    context = {
        "session": session,
        "form": form or {},
        "errors": errors or {},
        "problem": problem,
        "waitlist": waitlist,
        "has_started": session.starts_at <= datetime.now(UTC),
        "partial": bool(request.htmx),
    }
    template = "_booking_form.html" if request.htmx else "session.html"
    return HTMXTemplate(template_name=template, context=context, status_code=status_code)


def see_other(request: HTMXRequest, url: str) -> Response:
    """After a successful form post: a 303 for a plain form, ``HX-Redirect`` for htmx."""
    if request.htmx:
        redirect = ClientRedirect(url)
        redirect.status_code = HTTP_200_OK  # htmx follows HX-Redirect on a 200
        return redirect
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


class BookingController(Controller):
    include_in_schema = False

    @get("/sessions/{session_id:int}", name="session", opt={"skip_session": True})
    async def show_session(self, request: HTMXRequest, session_id: RowId) -> Template:
        return session_page(request, await session_or_404(session_id))

    @post("/sessions/{session_id:int}/book", name="book")
    async def book(self, request: HTMXRequest, session_id: RowId, data: FormData) -> Response:
        session = await session_or_404(session_id)
        form = read_form(data)
        result = validate_booking(**form, max_party_size=session.max_party_size)
        if not result.ok:
            return session_page(request, session, form=form, errors=result.errors, status_code=HTTP_400_BAD_REQUEST)
        assert result.request is not None
        try:
            confirmation = await book_place(
                session_id, result.request.resident, result.request.party_size, source=BookingSource.ONLINE
            )
        except SessionFull as error:
            session = await session_or_404(session_id)
            problem = f"{error.message} You can join the waiting list instead."
            return session_page(
                request, session, form=form, problem=problem, waitlist=True, status_code=error.http_status
            )
        except BookingError as error:
            session = await session_or_404(session_id)  # show the places as they are now
            return session_page(request, session, form=form, problem=error.message, status_code=error.http_status)
        remember(request, confirmation)
        return see_other(request, request.app.route_reverse("booking_confirmation", reference=confirmation.reference))

    @get(
        "/bookings/{reference:str}/confirmation",
        name="booking_confirmation",
        cache_control=CacheControlHeader(no_store=True),
    )
    async def confirmation(self, request: Request, reference: FromPath[str]) -> Template:
        """Only the browser that made the booking sees this page; everyone else gets a 404."""
        token = manage_token_for(request, reference)
        booking = await get_booking_by_manage_token(token) if token else None
        if booking is None or booking.reference != reference:
            raise NotFoundException()
        return Template(
            template_name="confirmation.html",
            context={"booking": booking, "manage_url": request.app.route_reverse("manage_booking", token=token)},
        )
