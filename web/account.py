"""Find my bookings: a one-time sign-in link by e-mail or text, then the resident's bookings and calendar.

Everything a signed-in page shows or changes is read by the resident id in the server-side session,
never by an id or reference from the URL or the form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_410_GONE, HTTP_422_UNPROCESSABLE_ENTITY

from booking.calendar import current_feed_token, feed_ics, reset_feed, resident_for_feed
from booking.my_bookings import active_resident, bookings_for_feed, my_bookings
from booking.sign_in import find_sign_in_link, parse_contact, redeem_sign_in_link, request_sign_in_link
from web.resident_session import sign_in, sign_out, signed_in_resident_id

NO_STORE = CacheControlHeader(no_store=True)
MY_BOOKINGS = "/my-bookings"
MAX_CONTACT_LENGTH = 320
FormData = URLEncodedBody[dict[str, str]]


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _base_url(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def calendar_host(request: Request) -> str:
    """The host part of calendar UIDs: stable for the site, whichever address a request used."""
    return urlsplit(_base_url(request)).hostname or "commons"


async def current_resident(request: Request) -> int | None:
    """The signed-in resident, unless their data has been erased since (then they count as signed out)."""
    resident_id = signed_in_resident_id(request)
    if resident_id is None or not await active_resident(resident_id):
        return None
    return resident_id


def _request_page(
    form: dict[str, str], errors: dict[str, str], status_code: int = 200, *, signed_out: bool = False
) -> Template:
    return Template(
        template_name="find_my_bookings.html",
        context={"form": form, "errors": errors, "signed_out": signed_out},
        status_code=status_code,
    )


class AccountController(Controller):
    include_in_schema = False
    cache_control = NO_STORE

    @get(MY_BOOKINGS, name="my_bookings")
    async def show(self, request: Request, notice: FromQuery[str | None] = None) -> Template:
        resident_id = await current_resident(request)
        if resident_id is None:
            return _request_page({}, {}, signed_out=notice == "signed-out")
        now = datetime.now(UTC)
        token = await current_feed_token(_secret(request), resident_id)
        return Template(
            template_name="my_bookings.html",
            context={
                "mine": await my_bookings(_secret(request), resident_id, now=now),
                "feed_url": f"{_base_url(request)}/calendar/{token}.ics",
                "feed_reset": notice == "calendar-reset",
                "personal": True,
            },
        )

    @post(MY_BOOKINGS, name="request_sign_in")
    async def request_link(self, request: Request, data: FormData) -> Template:
        text = str(data.get("contact", ""))[: MAX_CONTACT_LENGTH + 1]
        contact, error = parse_contact(text)
        if contact is None:
            return _request_page({"contact": text}, {"contact": error or ""}, HTTP_422_UNPROCESSABLE_ENTITY)
        # The answer never depends on whether the address is known, or over its limit.
        await request_sign_in_link(contact, now=datetime.now(UTC))
        return Template(
            template_name="check_email.html",
            context={"address": contact.email or text.strip(), "by_email": contact.email is not None},
        )

    @get("/my-bookings/sign-in/{token:str}", name="sign_in_link")
    async def show_sign_in_link(self, request: Request, token: FromPath[str]) -> Template:
        """Opening the link changes nothing (mail scanners open links too); its button signs in."""
        state = await find_sign_in_link(_secret(request), token, now=datetime.now(UTC))
        usable = state is not None and state.usable
        return Template(
            template_name="sign_in_link.html",
            context={"token": token, "usable": usable, "state": state, "personal": True},
            status_code=200 if usable else HTTP_410_GONE,
        )

    @post("/my-bookings/sign-in/{token:str}", name="use_sign_in_link")
    async def use_sign_in_link(self, request: Request, token: FromPath[str]) -> Redirect | Template:
        resident_id = await redeem_sign_in_link(_secret(request), token, now=datetime.now(UTC))
        if resident_id is None:
            state = await find_sign_in_link(_secret(request), token, now=datetime.now(UTC))
            return Template(
                template_name="sign_in_link.html",
                context={"token": token, "usable": False, "state": state, "personal": True},
                status_code=HTTP_410_GONE,
            )
        sign_in(request, resident_id)
        return Redirect(MY_BOOKINGS, status_code=HTTP_303_SEE_OTHER)

    @post("/my-bookings/sign-out", name="sign_out")
    async def sign_out(self, request: Request) -> Redirect:
        sign_out(request)
        return Redirect(f"{MY_BOOKINGS}?notice=signed-out", status_code=HTTP_303_SEE_OTHER)

    @post("/my-bookings/calendar/reset", name="reset_calendar_link")
    async def reset_calendar(self, request: Request) -> Redirect:
        resident_id = await current_resident(request)
        if resident_id is None:
            return Redirect(MY_BOOKINGS, status_code=HTTP_303_SEE_OTHER)
        await reset_feed(resident_id)
        return Redirect(f"{MY_BOOKINGS}?notice=calendar-reset#calendar", status_code=HTTP_303_SEE_OTHER)

    @get("/calendar/{filename:str}", name="calendar_feed")
    async def feed(self, request: Request, filename: FromPath[str]) -> Response[bytes]:
        """The private feed: computed on each request, so it stays current; a wrong link is a 404."""
        token = filename.removesuffix(".ics") if filename.endswith(".ics") else None
        resident_id = await resident_for_feed(_secret(request), token) if token else None
        if resident_id is None:
            raise NotFoundException()
        now = datetime.now(UTC)
        body = feed_ics(
            await bookings_for_feed(_secret(request), resident_id, now=now),
            host=calendar_host(request),
            base_url=_base_url(request),
            now=now,
        )
        return Response(
            body,
            media_type="text/calendar",
            headers={"X-Robots-Tag": "noindex"},
        )
