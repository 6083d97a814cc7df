"""The page a referral's confirm link opens: the resident confirms the place a link worker held for them.

Opening the link never changes anything (mail scanners fetch links before people click them); only the
button, which posts a form (with its CSRF token), does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from booking.errors import SessionCancelled
from booking.referrals import (
    ReferralAlreadyAccepted,
    ReferralHoldExpired,
    ReferralLinkView,
    ReferralNotOpen,
    accept_referral,
    referral_for_link,
    referral_link_view,
)
from booking.states import ReferralMode, ReferralStatus
from web.browser_bookings import remember

CANCELLED_SESSION = "session_cancelled"

TITLES = {
    ReferralStatus.CREATED.value: "Confirm your place",
    ReferralStatus.ACCEPTED.value: "You have confirmed this place",
    ReferralStatus.EXPIRED.value: "This place is no longer held",
    ReferralStatus.CANCELLED.value: "This referral has been cancelled",
    CANCELLED_SESSION: "This session has been cancelled",
}

MESSAGES = {
    ReferralStatus.ACCEPTED.value: ReferralAlreadyAccepted.message,
    ReferralStatus.EXPIRED.value: ReferralHoldExpired.message,
    ReferralStatus.CANCELLED.value: ReferralNotOpen.message,
    CANCELLED_SESSION: SessionCancelled.message,
}


def _now() -> datetime:
    return datetime.now(UTC)


async def _referral_or_404(request: Request, token: str) -> ReferralLinkView:
    referral_id = await referral_for_link(request.app.state.settings.secret_key, token)
    view = None if referral_id is None else await referral_link_view(referral_id, _now())
    if view is None:
        raise NotFoundException()  # malformed, forged or unknown: the same answer
    return view


def referral_state(view: ReferralLinkView) -> str:
    if view.session.is_cancelled:
        return CANCELLED_SESSION
    if view.mode is ReferralMode.BOOK:
        return ReferralStatus.ACCEPTED.value  # booked straight away: nothing to confirm
    return view.status


class ReferralConfirmController(Controller):
    include_in_schema = False
    path = "/referrals/{token:str}"
    cache_control = CacheControlHeader(no_store=True)

    @get("/", name="referral", opt={"skip_session": True})
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        view = await _referral_or_404(request, token)
        state = referral_state(view)
        context = {
            "referral": view,
            "token": token,
            "state": state,
            "title": TITLES[state],
            "message": MESSAGES.get(state),
        }
        return Template(template_name="referral.html", context=context)

    @post("/", name="confirm_referral")
    async def confirm(self, request: Request, token: FromPath[str]) -> Redirect:
        view = await _referral_or_404(request, token)
        confirmation = await accept_referral(view.id, _now())  # errors: web/errors.py
        remember(request, confirmation)  # this browser may see the booking's confirmation page
        url = request.app.route_reverse("booking_confirmation", reference=confirmation.reference)
        return Redirect(url, status_code=HTTP_303_SEE_OTHER)
