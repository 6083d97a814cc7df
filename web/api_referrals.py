"""JSON API for partners: make referrals and see their own referrals' outcomes, with a per-partner API key.

The same rules as the staff pages (booking/referrals.py): the body is checked by ``validate_referral`` and
the referral made by ``create_referral``. The key (booking/partner_api_keys.py) decides the partner; every
read is filtered by it in SQL, and another partner's referral gets the same 404 as one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, Router, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_422_UNPROCESSABLE_ENTITY

from booking.errors import BookingError
from booking.partner_api_keys import ApiCaller, authenticate
from booking.referrals import (
    PartnerReferral,
    ReferralNotFound,
    cancel_referral,
    create_referral,
    partner_referral,
    partner_referrals,
    validate_referral,
)
from web.api_models import BookingProblem, ValidationProblem
from web.errors import booking_error_handler
from web.params import MAX_ROW_ID, RowId

AUTH_DESCRIPTION = (
    "Authorise with 'Authorization: Bearer <API key>'. Partner staff make keys at /staff/referrals/api-keys; "
    "a key sees only its own organisation's referrals."
)
MISSING_KEY = "Send your organisation's API key as 'Authorization: Bearer <key>'."
BAD_KEY = "That API key is not valid: it is wrong, revoked, or its maker no longer works for your organisation."


class AuthProblem(msgspec.Struct):
    status_code: int  #: 401
    detail: str  #: what to do, in plain English


UNAUTHORISED = {401: ResponseSpec(data_container=AuthProblem, description="No key, or a wrong or revoked key")}
CREATE_PROBLEMS = {
    **UNAUTHORISED,
    403: ResponseSpec(data_container=BookingProblem, description="The key's account is not linked to a partner"),
    404: ResponseSpec(data_container=BookingProblem, description="No such session"),
    409: ResponseSpec(
        data_container=BookingProblem,
        description="Full, already booked or held for this resident, cancelled or started",
    ),
    422: ResponseSpec(
        data_container=ValidationProblem,
        description="What to fix in each field (or, as a BookingProblem, too late to hold: book instead)",
    ),
}

NOT_FOUND = {404: ResponseSpec(data_container=BookingProblem, description="No such referral")}
CANCEL_PROBLEMS = {
    **UNAUTHORISED,
    **NOT_FOUND,
    409: ResponseSpec(
        data_container=BookingProblem,
        description="It can no longer be cancelled: already cancelled, not confirmed in time, its booking already "
        "cancelled, or the session started or cancelled (reason names which)",
    ),
    422: ResponseSpec(data_container=BookingProblem, description="The reason is too long"),
}

#: The bearer scheme in /schema (added to the app's OpenAPIConfig); each operation below requires it.
SECURITY_SCHEME = "partnerApiKey"
OPENAPI_COMPONENTS = Components(
    security_schemes={
        SECURITY_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="cmk_<key id>_<secret>",
            description="A partner's API key, shown once when partner staff make it at /staff/referrals/api-keys.",
        )
    }
)

Authorization = Annotated[str | None, HeaderParameter(name="Authorization", description="Bearer <API key>")]


class ReferralIn(msgspec.Struct):
    """A referral, as on the staff form. Missing fields are allowed here so each is named in a 422.

    Give ``email``, ``phone`` or both; with no email the resident must agree to texts (``sms_opt_in``)."""

    session_id: int | None = None
    name: str = ""
    email: str = ""
    phone: str | None = None
    sms_opt_in: bool = False  #: the resident agrees to texts about this referral
    party_size: int | None = None  #: 1 when not given
    consent_source: str = ""  #: phone | in_person: how the resident agreed to be referred
    share_outcome: bool = False  #: the resident agrees that you may see whether they came
    mode: str = ""  #: book (the places now) | hold (the places, while the resident confirms through a link)
    hold_days: int | None = None  #: hold mode: 1 to 14
    note: str = ""  #: for the session's staff, shown on the register (500 characters at most)

    def as_form(self) -> dict[str, object]:
        """The strings ``validate_referral`` reads; booleans stay booleans (``is_ticked`` takes both)."""
        text = {
            "session_id": self.session_id,
            "party_size": self.party_size,
            "hold_days": self.hold_days,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "consent_source": self.consent_source,
            "mode": self.mode,
            "note": self.note,
        }
        form: dict[str, object] = {key: "" if value is None else str(value) for key, value in text.items()}
        return {**form, "sms_opt_in": self.sms_opt_in, "share_outcome": self.share_outcome}


class CancelIn(msgspec.Struct):
    """Why the referral is cancelled (optional). It goes in the message to the resident."""

    reason: str = ""  #: 500 characters at most


class ReferralOut(msgspec.Struct):
    id: int
    created_at: datetime  #: UTC
    resident_name: str  #: "" once the resident's details are erased
    session_id: int
    activity: str
    starts_at: datetime  #: UTC
    party_size: int
    mode: str  #: book | hold
    #: waiting | booked | attended | did_not_attend | not_shared | expired | cancelled. Whether the resident
    #: came is shown only if they agreed to it being shared (not_shared otherwise).
    outcome: str
    outcome_label: str  #: the outcome in plain English

    @classmethod
    def from_view(cls, view: PartnerReferral) -> ReferralOut:
        return cls(
            id=view.id,
            created_at=view.created_at.astimezone(UTC),
            resident_name=view.resident_name,
            session_id=view.session_id,
            activity=view.activity_title,
            starts_at=view.starts_at.astimezone(UTC),
            party_size=view.party_size,
            mode=view.mode.value,
            outcome=view.outcome.value,
            outcome_label=view.outcome.label,
        )


async def _caller(authorization: str | None) -> ApiCaller:
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthorizedException(MISSING_KEY, headers={"WWW-Authenticate": 'Bearer realm="referrals"'})
    caller = await authenticate(secret.strip(), datetime.now(UTC))
    if caller is None:
        raise NotAuthorizedException(
            BAD_KEY, headers={"WWW-Authenticate": 'Bearer realm="referrals", error="invalid_token"'}
        )
    return caller


class ReferralsApi(Controller):
    path = "/referrals"
    tags = ("Referrals",)
    security = [{SECURITY_SCHEME: []}]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Refer a resident to a session: book the places now or hold them",
        description=f"{AUTH_DESCRIPTION} In hold mode the resident is sent a link to confirm the places; "
        "they go back on sale if not confirmed in time.",
        responses=CREATE_PROBLEMS,
    )
    async def refer(
        self, data: JSONBody[ReferralIn], authorization: Authorization = None
    ) -> Response[ReferralOut | ValidationProblem]:
        caller = await _caller(authorization)
        request, errors = validate_referral(data.as_form())
        if request is None:
            problem = ValidationProblem(detail="Check the fields listed in errors.", errors=errors)
            return Response(problem, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        made = await create_referral(caller.actor, request, datetime.now(UTC))
        view = await partner_referral(caller.partner_id, made.referral_id)
        assert view is not None  # just made, for this partner
        return Response(ReferralOut.from_view(view), status_code=HTTP_201_CREATED)

    @get(
        "/",
        summary="Your organisation's referrals, newest first, with their outcomes",
        description=AUTH_DESCRIPTION,
        responses=UNAUTHORISED,
    )
    async def list_referrals(
        self,
        authorization: Authorization = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_ROW_ID)] = 0,
    ) -> list[ReferralOut]:
        caller = await _caller(authorization)
        referrals = await partner_referrals(caller.partner_id, limit, offset)
        return [ReferralOut.from_view(view) for view in referrals]

    @get(
        "/{referral_id:int}",
        summary="One of your organisation's referrals, with its outcome",
        description=f"{AUTH_DESCRIPTION} Another organisation's referral is a 404, like one that does not exist.",
        responses={**UNAUTHORISED, **NOT_FOUND},
    )
    async def show_referral(self, referral_id: RowId, authorization: Authorization = None) -> ReferralOut:
        caller = await _caller(authorization)
        view = await partner_referral(caller.partner_id, referral_id)
        if view is None:
            raise NotFoundException("No referral with that id.")
        return ReferralOut.from_view(view)

    @post(
        "/{referral_id:int}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel one of your organisation's referrals",
        description=f"{AUTH_DESCRIPTION} A held place goes back on sale; a booking the referral made is cancelled. "
        "Either way the resident is told, with the reason if you give one. Answers the referral as GET does. "
        "Another organisation's referral is a 404, like one that does not exist.",
        responses=CANCEL_PROBLEMS,
    )
    async def cancel(
        self, referral_id: RowId, authorization: Authorization = None, data: JSONBody[CancelIn | None] = None
    ) -> ReferralOut:
        caller = await _caller(authorization)
        try:
            await cancel_referral(caller.actor, referral_id, data.reason if data else "", datetime.now(UTC))
        except ReferralNotFound as error:
            raise NotFoundException("No referral with that id.") from error
        view = await partner_referral(caller.partner_id, referral_id)
        assert view is not None  # this partner's, just cancelled
        return ReferralOut.from_view(view)


referrals_api_router = Router(
    path="/api/v1",
    route_handlers=[ReferralsApi],
    exception_handlers={BookingError: booking_error_handler},
)
