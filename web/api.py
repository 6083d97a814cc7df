"""JSON API, version 1: list sessions, book places or join the waiting list, cancel with the manage token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, Router, delete, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_422_UNPROCESSABLE_ENTITY

from booking.clock import SystemClock
from booking.errors import BookingError, BookingNotFound
from booking.manage_links import find_booking_by_signed_token, reference_of, signed_manage_token
from booking.queries import get_session, list_upcoming_sessions
from booking.references import normalise_reference
from booking.service import book_place, cancel_booking, max_party_size_for
from booking.states import BookingSource
from booking.validation import BookingRequest, validate_booking
from booking.waitlist import join_waitlist
from web.api_models import (
    BookingIn,
    BookingOut,
    BookingProblem,
    CancellationOut,
    SessionOut,
    ValidationProblem,
    WaitlistIn,
    WaitlistOut,
    as_utc,
)
from web.api_offers import OffersApi
from web.errors import booking_error_handler
from web.params import MAX_ROW_ID, RowId

BOOKING_PROBLEMS = {
    404: ResponseSpec(data_container=BookingProblem, description="No such session"),
    409: ResponseSpec(
        data_container=BookingProblem,
        description="Full, already booked, cancelled, started, booking not open yet or closed, "
        "or too many upcoming bookings for this activity",
    ),
    422: ResponseSpec(
        data_container=ValidationProblem,
        description="What to fix in each field (or, as a BookingProblem, an Idempotency-Key used for another session)",
    ),
}


WAITLIST_PROBLEMS = {
    **BOOKING_PROBLEMS,
    409: ResponseSpec(
        data_container=BookingProblem,
        description="Places left (book instead), already waiting or booked, cancelled or started",
    ),
}


IDEMPOTENCY_KEY_DESCRIPTION = (
    "Optional. A unique value you choose for this booking (8 to 255 printable characters, for example a UUID). "
    "Sending the same key again (a retry after a timeout) makes no second booking: the answer describes the "
    "booking the first request made, with a signed manage_token. The same key for another session gets 422."
)


async def _validated(session_id: int, data: BookingIn | WaitlistIn) -> BookingRequest | ValidationProblem:
    result = validate_booking(
        name=data.name,
        email=data.email,
        phone=data.phone,
        party_size=data.party_size,
        sms_opt_in=data.sms_opt_in,
        contact_email=data.contact_by_email,
        support_note=getattr(data, "support_note", ""),
        max_party_size=await max_party_size_for(session_id),
    )
    if not result.ok:
        return ValidationProblem(detail="Check the fields listed in errors.", errors=result.errors)
    assert result.request is not None
    return result.request


def _bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException(
            "Send the booking's manage token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


class SessionsApi(Controller):
    path = "/sessions"
    tags = ("Sessions",)

    @get("/", summary="Upcoming sessions, soonest first")
    async def list_sessions(
        self,
        start: Annotated[datetime | None, QueryParameter(name="from", description="ISO 8601; default now")] = None,
        end: Annotated[datetime | None, QueryParameter(name="to", description="ISO 8601, exclusive")] = None,
        venue: Annotated[str | None, QueryParameter(description="Venue slug")] = None,
        category: Annotated[str | None, QueryParameter(description="Activity category, e.g. job_club")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        # No more sessions than row ids: a bigger offset is a 400, not a database error (past 64 bits).
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_ROW_ID)] = 0,
    ) -> list[SessionOut]:
        sessions = await list_upcoming_sessions(
            start=as_utc(start), end=as_utc(end), venue=venue, category=category, limit=limit, offset=offset
        )
        return [SessionOut.from_view(view) for view in sessions]

    @get("/{session_id:int}", summary="One session")
    async def show_session(self, session_id: RowId) -> SessionOut:
        view = await get_session(session_id)
        if view is None:
            raise NotFoundException("No session with that id.")
        return SessionOut.from_view(view)

    @post(
        "/{session_id:int}/bookings",
        status_code=HTTP_201_CREATED,
        summary="Book places on a session",
        responses=BOOKING_PROBLEMS,
    )
    async def book(
        self,
        request: Request,
        session_id: RowId,
        data: JSONBody[BookingIn],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                min_length=8,
                max_length=255,
                pattern=r"^[\x21-\x7e]+$",
                description=IDEMPOTENCY_KEY_DESCRIPTION,
            ),
        ] = None,
    ) -> Response[BookingOut | ValidationProblem]:
        details = await _validated(session_id, data)
        if isinstance(details, ValidationProblem):
            return Response(details, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        confirmation = await book_place(
            session_id,
            details.resident,
            details.party_size,
            source=BookingSource.API,
            support_note=details.support_note,
            idempotency_key=f"api:{idempotency_key}" if idempotency_key else None,
        )
        body = BookingOut.from_confirmation(confirmation)
        if confirmation.repeated:  # the random token is shown only once: a repeat gets the signed kind
            token = signed_manage_token(
                request.app.state.settings.secret_key, confirmation.reference, confirmation.manage_token_hash
            )
            body = msgspec.structs.replace(body, manage_token=token)
        return Response(body, status_code=HTTP_201_CREATED)

    @post(
        "/{session_id:int}/waitlist",
        status_code=HTTP_201_CREATED,
        summary="Join a full session's waiting list",
        description="Only when the session cannot fit the party: otherwise 409 places_available (book instead).",
        responses=WAITLIST_PROBLEMS,
        tags=["Waiting list"],
    )
    async def join_waitlist(
        self, session_id: RowId, data: JSONBody[WaitlistIn]
    ) -> Response[WaitlistOut | ValidationProblem]:
        details = await _validated(session_id, data)
        if isinstance(details, ValidationProblem):
            return Response(details, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        place = await join_waitlist(session_id, details.resident, details.party_size, SystemClock())
        return Response(WaitlistOut.from_place(place), status_code=HTTP_201_CREATED)


class BookingsApi(Controller):
    path = "/bookings"
    tags = ("Bookings",)

    @delete(
        "/{reference:str}",
        status_code=200,
        summary="Cancel a booking",
        description="Authorise with 'Authorization: Bearer <manage_token>'. "
        "An unknown booking and a wrong token get the same 404.",
        responses={
            404: ResponseSpec(data_container=BookingProblem, description="Unknown booking or wrong token"),
            409: ResponseSpec(data_container=BookingProblem, description="Already cancelled"),
        },
    )
    async def cancel(
        self,
        request: Request,
        reference: FromPath[str],
        authorization: Annotated[str | None, HeaderParameter(name="Authorization")] = None,
    ) -> CancellationOut:
        token = _bearer_token(authorization)
        reference = normalise_reference(reference)
        if reference_of(token) is not None:  # the signed kind, from a repeated request or an e-mail
            booking = await find_booking_by_signed_token(request.app.state.settings.secret_key, token)
            if booking is None or booking.reference != reference:
                raise BookingNotFound()
            cancellation = await cancel_booking(reference, authorised=True)
        else:
            cancellation = await cancel_booking(reference, manage_token=token)
        return CancellationOut.from_cancellation(cancellation)


api_router = Router(
    path="/api/v1",
    route_handlers=[SessionsApi, BookingsApi, OffersApi],
    exception_handlers={BookingError: booking_error_handler},
)
