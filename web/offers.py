"""The page a waiting-list offer's link opens: accept or turn down the places held for you.

Opening the link never changes anything (mail scanners fetch links before people click them); only
the two buttons, which post forms, do.
"""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from booking.clock import SystemClock
from booking.errors import OfferAlreadyAccepted, OfferExpired, SessionCancelled
from booking.offer_links import OfferView, find_offer_for_link
from booking.states import WaitlistOfferStatus
from booking.waitlist import accept_offer_by_hash, decline_offer_by_hash
from web.browser_bookings import remember

NO_STORE = CacheControlHeader(no_store=True)
CANCELLED = "cancelled"  #: the session was cancelled, whatever became of the offer

TITLES = {
    WaitlistOfferStatus.OPEN.value: "Places are free for you",
    WaitlistOfferStatus.ACCEPTED.value: "You have accepted this offer",
    WaitlistOfferStatus.DECLINED.value: "You've turned down the places",
    WaitlistOfferStatus.EXPIRED.value: "This offer has run out",
    CANCELLED: "This session has been cancelled",
}

#: What the page says about an offer that can no longer be answered.
CLOSED_MESSAGES = {
    WaitlistOfferStatus.ACCEPTED.value: OfferAlreadyAccepted.message,
    WaitlistOfferStatus.EXPIRED.value: OfferExpired.message,
    CANCELLED: SessionCancelled.message,
}


async def _offer_or_404(request: Request, token: str) -> OfferView:
    offer = await find_offer_for_link(request.app.state.settings.secret_key, token)
    if offer is None:
        raise NotFoundException()  # malformed, forged or unknown: the same answer
    return offer


def offer_state(offer: OfferView, now: datetime) -> str:
    """open, accepted, declined, expired or cancelled, as the resident would see it now."""
    if offer.session.is_cancelled:
        return CANCELLED
    if offer.status == WaitlistOfferStatus.OPEN.value and offer.expires_at <= now:
        return WaitlistOfferStatus.EXPIRED.value  # past its time, not yet swept by expire_offers
    return offer.status


class OfferController(Controller):
    include_in_schema = False
    path = "/offers/{token:str}"
    cache_control = NO_STORE

    @get("/", name="offer", opt={"skip_session": True})
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        offer = await _offer_or_404(request, token)
        state = offer_state(offer, SystemClock().now())
        return Template(
            template_name="offer.html",
            context={
                "offer": offer,
                "token": token,
                "state": state,
                "title": TITLES[state],
                "message": CLOSED_MESSAGES.get(state),
            },
        )

    @post("/accept", name="accept_offer")
    async def accept(self, request: Request, token: FromPath[str]) -> Redirect:
        offer = await _offer_or_404(request, token)
        confirmation = await accept_offer_by_hash(offer.token_hash, SystemClock())  # errors: web/errors.py
        remember(request, confirmation)  # this browser may see the booking's confirmation page
        url = request.app.route_reverse("booking_confirmation", reference=confirmation.reference)
        return Redirect(url, status_code=HTTP_303_SEE_OTHER)

    @post("/decline", name="decline_offer", opt={"skip_session": True})
    async def decline(self, request: Request, token: FromPath[str]) -> Redirect:
        offer = await _offer_or_404(request, token)
        await decline_offer_by_hash(offer.token_hash, SystemClock())
        return Redirect(request.app.route_reverse("offer", token=token), status_code=HTTP_303_SEE_OTHER)
