"""The session page and the booking journey: form, check your answers, confirm, confirmation.

Every step works as a plain form (POST, then a page or a 303); with htmx each step swaps the
``#booking-form`` section and the last one redirects with ``HX-Redirect``. A full session shows the
waiting-list form in the same place (``web/waitlist.py`` handles it).

"Change" on the check page is a POST of the answers (hidden fields) back to ``/sessions/{id}/book``
with ``change=<field>``: the answers never go into a URL, and the form comes back filled in.
The form carries a random ``idempotency_key`` from the moment it is shown, so a double click, an
htmx retry or the back button followed by "Confirm booking" again finds the same booking.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.plugins.htmx import ClientRedirect, HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER, HTTP_400_BAD_REQUEST

from booking.errors import BookingError, SessionCancelled, SessionFull, SessionStarted
from booking.manage_links import signed_token_for_booking
from booking.queries import SessionView, get_booking_by_reference, get_session
from booking.references import normalise_reference
from booking.service import book_place
from booking.states import BookingSource
from booking.validation import BookingRequest, validate_booking
from web.browser_bookings import booked_here, remember
from web.params import RowId

#: The booking and waiting-list forms ask for the same details, so input carries over between them.
FORM_FIELDS = (
    "name",
    "email",
    "phone",
    "contact_email",
    "sms_opt_in",
    "party_size",
    "support_note",
    "idempotency_key",
)
#: What "Change" on the check page may ask to change (anything else just shows the form).
CHANGEABLE = frozenset({"name", "email", "phone", "contact_email", "sms_opt_in", "party_size", "support_note"})
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FormData = URLEncodedBody[dict[str, str]]
NO_STORE = CacheControlHeader(no_store=True)


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


def valid_idempotency_key(value: str) -> str | None:
    return value if IDEMPOTENCY_KEY.match(value or "") else None


def read_form(data: dict[str, str]) -> dict[str, str]:
    form = {name: str(data.get(name, "")) for name in FORM_FIELDS}
    if "contact_asked" not in data:
        # A post without the contact question (a scripted client, a form from before it existed) keeps the
        # old default: booking details by e-mail. An unticked box sends nothing, so the form marks that it asked.
        form["contact_email"] = "yes"
    return form


def session_problem(session: SessionView, now: datetime) -> tuple[str, bool] | None:
    """Why nobody can book this session now, whatever they type (and whether to offer the waiting list)."""
    if session.is_cancelled:
        return SessionCancelled.message, False
    if session.starts_at <= now:
        return SessionStarted.message, False
    notice = session.window_notice(now)
    if notice:
        return notice, False
    if session.is_full:
        return f"{SessionFull.message} You can join the waiting list instead.", True
    return None


def blank_form() -> dict[str, str]:
    """A new form: "By email" ticked (booking details are not marketing), texts unticked (consent)."""
    return {"contact_email": "yes", "idempotency_key": new_idempotency_key()}


def validate_form(form: dict[str, str], session: SessionView):
    return validate_booking(
        name=form["name"],
        email=form["email"],
        phone=form["phone"],
        contact_email=form["contact_email"],
        sms_opt_in=form["sms_opt_in"],
        party_size=form["party_size"],
        support_note=form["support_note"],
        max_party_size=session.max_party_size,
    )


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
    focus_field: str | None = None,
) -> Template:
    """The full session page, or only the form area when htmx asked.

    A full session always shows the waiting-list form; ``waitlist`` shows it while a few places are
    left too, for a party bigger than what is left. Before booking opens or after it closes, a notice
    says so instead of a form.
    """
    form = dict(form) if form else blank_form()
    if not valid_idempotency_key(form.get("idempotency_key", "")):
        form["idempotency_key"] = new_idempotency_key()
    now = datetime.now(UTC)
    context = {
        "session": session,
        "form": form,
        "errors": errors or {},
        "problem": problem,
        "waitlist": waitlist,
        "has_started": session.starts_at <= now,
        "window_notice": session.window_notice(now),
        "partial": bool(request.htmx),
        "focus_field": focus_field,
        # What a resident typed comes back in this page: keep no copy anywhere.
        "personal": request.method == "POST",
    }
    template = "_booking_form.html" if request.htmx else "session.html"
    headers = {"Cache-Control": "no-store"} if request.method == "POST" else None
    return HTMXTemplate(template_name=template, context=context, status_code=status_code, headers=headers)


def check_page(request: HTMXRequest, session: SessionView, form: dict[str, str], answers: BookingRequest) -> Template:
    context = {
        "session": session,
        "form": form,
        "answers": answers,
        "errors": {},
        "problem": None,
        "partial": bool(request.htmx),
        "personal": True,
    }
    template = "_check_answers.html" if request.htmx else "check_answers.html"
    return HTMXTemplate(template_name=template, context=context, headers={"Cache-Control": "no-store"})


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
        """Step 1: check the form and show the answers, or (``change``) show the form again, filled in."""
        session = await session_or_404(session_id)
        form = read_form(data)
        change = str(data.get("change", ""))
        if change:
            return session_page(request, session, form=form, focus_field=change if change in CHANGEABLE else None)
        problem = session_problem(session, datetime.now(UTC))
        if problem:
            message, waitlist = problem
            return session_page(request, session, form=form, problem=message, waitlist=waitlist, status_code=409)
        result = validate_form(form, session)
        if not result.ok:
            return session_page(request, session, form=form, errors=result.errors, status_code=HTTP_400_BAD_REQUEST)
        assert result.request is not None
        if result.request.party_size > session.places_left:
            problem_text = f"{SessionFull.message} You can join the waiting list instead."
            return session_page(request, session, form=form, problem=problem_text, waitlist=True, status_code=409)
        form["idempotency_key"] = valid_idempotency_key(form["idempotency_key"]) or new_idempotency_key()
        return check_page(request, session, form, result.request)

    @post("/sessions/{session_id:int}/book/confirm", name="confirm_booking")
    async def confirm(self, request: HTMXRequest, session_id: RowId, data: FormData) -> Response:
        """Step 2: book. Errors show the form again with everything the resident typed."""
        session = await session_or_404(session_id)
        form = read_form(data)
        result = validate_form(form, session)
        if not result.ok:
            return session_page(request, session, form=form, errors=result.errors, status_code=HTTP_400_BAD_REQUEST)
        assert result.request is not None
        try:
            confirmation = await book_place(
                session_id,
                result.request.resident,
                result.request.party_size,
                source=BookingSource.ONLINE,
                support_note=result.request.support_note,
                idempotency_key=valid_idempotency_key(form["idempotency_key"]),
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

    @get("/bookings/{reference:str}/confirmation", name="booking_confirmation", cache_control=NO_STORE)
    async def confirmation(self, request: Request, reference: FromPath[str]) -> Template:
        """Only the browser that made the booking sees this page; everyone else gets a 404."""
        reference = normalise_reference(reference)
        booking = await get_booking_by_reference(reference) if booked_here(request, reference) else None
        token = await signed_token_for_booking(request.app.state.settings.secret_key, booking.id) if booking else None
        if booking is None or token is None:
            raise NotFoundException()
        manage_url = request.app.route_reverse("manage_booking", token=token)
        return Template(
            template_name="confirmation.html",
            context={
                "booking": booking,
                "manage_url": manage_url,
                "calendar_url": f"{manage_url}/calendar.ics",
                "personal": True,
            },
        )
