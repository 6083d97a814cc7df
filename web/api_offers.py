"""JSON API for waiting-list offers: accept or turn down, with the token from the offer's link."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from booking.clock import SystemClock
from booking.errors import OfferNotFound
from booking.offer_links import OfferView, find_offer_for_link
from booking.waitlist import accept_offer_by_hash, decline_offer_by_hash
from web.api_models import BookingOut, BookingProblem, OfferDeclinedOut

TOKEN_DESCRIPTION = "The token at the end of the offer's link, /offers/{token}."

OFFER_PROBLEMS = {
    404: ResponseSpec(data_container=BookingProblem, description="Unknown or forged token"),
    409: ResponseSpec(
        data_container=BookingProblem,
        description="Already accepted or turned down, run out, or the session was cancelled",
    ),
}


async def _offer(request: Request, token: str) -> OfferView:
    offer = await find_offer_for_link(request.app.state.settings.secret_key, token)
    if offer is None:
        raise OfferNotFound()
    return offer


class OffersApi(Controller):
    path = "/offers/{token:str}"
    tags = ("Waiting list",)

    @post(
        "/accept",
        status_code=HTTP_201_CREATED,
        summary="Accept a waiting-list offer: its places become a booking",
        description=TOKEN_DESCRIPTION,
        responses=OFFER_PROBLEMS,
    )
    async def accept(self, request: Request, token: FromPath[str]) -> BookingOut:
        offer = await _offer(request, token)
        confirmation = await accept_offer_by_hash(offer.token_hash, SystemClock())
        return BookingOut.from_confirmation(confirmation)

    @post(
        "/decline",
        status_code=HTTP_200_OK,
        summary="Turn down a waiting-list offer: its places go to the next in line",
        description=TOKEN_DESCRIPTION,
        responses=OFFER_PROBLEMS,
    )
    async def decline(self, request: Request, token: FromPath[str]) -> OfferDeclinedOut:
        offer = await _offer(request, token)
        await decline_offer_by_hash(offer.token_hash, SystemClock())
        return OfferDeclinedOut(session_id=offer.session.id, party_size=offer.party_size)
