"""Referral pages: partner staff refer residents and see their own referrals' outcomes; administrators and
coordinators see the figures per partner. Rules live in booking/referrals.py."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from booking.errors import BookingError
from booking.referrals import (
    MAX_HOLD_DAYS,
    NotAPartner,
    create_referral,
    partner_name,
    partner_of,
    partner_referrals,
    referral_figures,
    sessions_for_referral,
    validate_referral,
)
from booking.staff import Permission, StaffUser
from web.staff.access import staff_rule
from web.staff.catalogue_forms import FormData, page, see_other

REFER = staff_rule(Permission.MAKE_REFERRALS)
REPORT = staff_rule(Permission.VIEW_REPORTS)

NOTICES = {"created": "The referral is made. The resident will get a message about it."}


def _now() -> datetime:
    return datetime.now(UTC)


async def _form_page(status_code: int = 200, **context) -> Template:
    return page(
        "referrals/new.html",
        status_code,
        sessions=await sessions_for_referral(_now()),
        max_hold_days=MAX_HOLD_DAYS,
        **context,
    )


def _not_linked() -> Template:
    # A partner account no administrator has linked to an organisation yet: nothing to show, nothing to do.
    return page("referrals/not_linked.html", HTTP_409_CONFLICT, problem=NotAPartner.message)


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
        )

    @get("/new", opt=REFER)
    async def new_referral_form(self) -> Template:
        return await _form_page(form={"party_size": "1", "hold_days": "3"})

    @post("/new", opt=REFER)
    async def make_referral(self, staff: NamedDependency[StaffUser], data: FormData) -> Template | Redirect:
        request, errors = validate_referral(data)
        if request is None:
            return await _form_page(HTTP_422_UNPROCESSABLE_ENTITY, form=data, errors=errors)
        try:
            await create_referral(staff, request, _now())
        except NotAPartner:
            return _not_linked()
        except BookingError as error:
            return await _form_page(error.http_status, form=data, problem=error.message)
        return see_other("/staff/referrals?notice=created")

    @get("/report", opt=REPORT)
    async def report(self) -> Template:
        return page("referrals/report.html", figures=await referral_figures())
