"""Referral pages: partner staff refer residents, see their own referrals' outcomes and cancel them; administrators
and coordinators see the figures per partner. Rules live in booking/referrals.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.plugins.htmx import ClientRedirect, HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from booking.errors import BookingError
from booking.referrals import (
    FILTER_FIELDS,
    MAX_CANCEL_REASON,
    MAX_HOLD_DAYS,
    CancelReasonTooLong,
    NotAPartner,
    ReferralNotFound,
    cancel_referral,
    create_referral,
    parse_session_filters,
    partner_name,
    partner_of,
    partner_referral,
    partner_referrals,
    referral_figures,
    referral_venue_choices,
    sessions_for_referral,
    validate_referral,
)
from booking.staff import Permission, StaffUser
from booking.states import ActivityCategory
from web.params import RowId
from web.staff.access import staff_rule
from web.staff.catalogue_forms import FormData, page, see_other

REFER = staff_rule(Permission.MAKE_REFERRALS)
REPORT = staff_rule(Permission.VIEW_REPORTS)

NOTICES = {
    "created": "The referral is made. The resident will get a message about it.",
    "cancelled": "The referral is cancelled. Its places are free again, and the resident will get a message about it.",
}
SESSION_CHOICES_TARGET = "session-choices"  #: the part of the new-referral form the search updates


def _now() -> datetime:
    return datetime.now(UTC)


async def _form_context(values: Mapping[str, object]) -> dict:
    """The session list for the search in ``values`` (the query string, or the referral form's hidden fields)."""
    filters, filter_errors = parse_session_filters(values)
    return {
        "choices": await sessions_for_referral(_now(), filters),
        "filters": {name: str(values.get(name) or "").strip() for name in FILTER_FIELDS},
        "filter_errors": filter_errors,
        "venues": await referral_venue_choices(),
        "categories": [(category.value, category.label) for category in ActivityCategory],
        "max_hold_days": MAX_HOLD_DAYS,
    }


async def _form_page(values: Mapping[str, object], status_code: int = 200, **context) -> Template:
    return page("referrals/new.html", status_code, **await _form_context(values), **context)


def _not_linked() -> Template:
    # A partner account no administrator has linked to an organisation yet: nothing to show, nothing to do.
    return page("referrals/not_linked.html", HTTP_409_CONFLICT, problem=NotAPartner.message)


async def _cancel_page(partner_id: int, referral_id: int, status_code: int = 200, **context) -> Template:
    referral = await partner_referral(partner_id, referral_id)
    if referral is None:
        raise NotFoundException()  # another partner's referral looks exactly like a missing one
    refusal = referral.cancel_refusal(_now())
    if refusal is not None and not context.get("problem"):
        status_code, context["problem"] = HTTP_409_CONFLICT, refusal.message
    return page(
        "referrals/cancel.html",
        status_code,
        referral=referral,
        cancellable=refusal is None,
        max_reason=MAX_CANCEL_REASON,
        **context,
    )


class ReferralsController(Controller):
    path = "/referrals"
    include_in_schema = False

    @get("/", opt=REFER)
    async def referrals(self, staff: NamedDependency[StaffUser], notice: FromQuery[str] = "") -> Template:
        try:
            partner_id = await partner_of(staff)
        except NotAPartner:
            return _not_linked()
        return page(
            "referrals/list.html",
            referrals=await partner_referrals(partner_id),
            partner_name=await partner_name(partner_id),
            notice=NOTICES.get(notice),
            now=_now(),
        )

    @get("/new", opt=REFER)
    async def new_referral_form(self, request: HTMXRequest) -> Template | ClientRedirect:
        """The form; its "Find a session" search is a GET of this page. With htmx, only the session list."""
        values = {name: request.query_params.get(name, "") for name in FILTER_FIELDS}
        htmx = request.htmx
        if htmx and not htmx.history_restore_request and htmx.target == SESSION_CHOICES_TARGET:
            if parse_session_filters(values)[1]:
                # Mistakes in the search (a date typed where the browser has no date picker) are shown on the
                # whole page, beside their fields: htmx loads it, as the same search without JavaScript would.
                return ClientRedirect(f"/staff/referrals/new?{request.url.query}")
            context = await _form_context(values)
            return HTMXTemplate(
                template_name="staff/referrals/_session_choices.html",
                context={**context, "errors": {}, "form": {}, "oob": True},
            )
        return await _form_page(values, form={"party_size": "1", "hold_days": "3"})

    @post("/new", opt=REFER)
    async def make_referral(self, staff: NamedDependency[StaffUser], data: FormData) -> Template | Redirect:
        request, errors = validate_referral(data)
        if request is None:
            return await _form_page(data, HTTP_422_UNPROCESSABLE_ENTITY, form=data, errors=errors)
        try:
            await create_referral(staff, request, _now())
        except NotAPartner:
            return _not_linked()
        except BookingError as error:
            return await _form_page(data, error.http_status, form=data, problem=error.message)
        return see_other("/staff/referrals?notice=created")

    @get("/{referral_id:int}/cancel", opt=REFER)
    async def cancel_form(self, staff: NamedDependency[StaffUser], referral_id: RowId) -> Template:
        try:
            partner_id = await partner_of(staff)
        except NotAPartner:
            return _not_linked()
        return await _cancel_page(partner_id, referral_id)

    @post("/{referral_id:int}/cancel", opt=REFER)
    async def cancel(
        self, staff: NamedDependency[StaffUser], referral_id: RowId, data: FormData
    ) -> Template | Redirect:
        try:
            partner_id = await partner_of(staff)
        except NotAPartner:
            return _not_linked()
        reason = data.get("reason", "")
        try:
            await cancel_referral(staff, referral_id, reason, _now())
        except ReferralNotFound as error:
            raise NotFoundException() from error
        except CancelReasonTooLong as error:
            return await _cancel_page(
                partner_id,
                referral_id,
                HTTP_422_UNPROCESSABLE_ENTITY,
                form=data,
                errors={"reason": error.message},
            )
        except BookingError as error:
            return await _cancel_page(partner_id, referral_id, error.http_status, form=data, problem=error.message)
        return see_other("/staff/referrals?notice=cancelled")

    @get("/report", opt=REPORT)
    async def report(self, staff: NamedDependency[StaffUser]) -> Template:
        scope = staff.venue_filter()
        return page("referrals/report.html", figures=await referral_figures(scope), all_venues=scope is None)
