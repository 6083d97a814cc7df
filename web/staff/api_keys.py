"""API keys for partner staff: make one (its secret is shown once), see their organisation's keys, revoke one.

Partner staff only, for their own organisation (``partner_of``); rules in booking/partner_api_keys.py."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from booking.errors import BookingError
from booking.partner_api_keys import create_api_key, partner_api_keys, revoke_api_key, validate_key_name
from booking.referrals import MAX_ROW_ID, NotAPartner, partner_name, partner_of
from booking.staff import Permission, StaffUser
from web.staff.access import staff_rule
from web.staff.catalogue_forms import FormData, page, see_other

REFER = staff_rule(Permission.MAKE_REFERRALS)
LIST = "/staff/referrals/api-keys"
NOTICES = {"revoked": "The key is revoked. Requests that use it are refused from now on."}


def _now() -> datetime:
    return datetime.now(UTC)


async def _keys_page(partner_id: int, status_code: int = 200, **context) -> Template:
    return page(
        "referrals/api_keys.html",
        status_code,
        keys=await partner_api_keys(partner_id),
        partner_name=await partner_name(partner_id),
        **context,
    )


def _not_linked() -> Template:
    return page("referrals/not_linked.html", HTTP_409_CONFLICT, problem=NotAPartner.message)


def _key_id(text: str) -> int | None:
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 0 < int(text) <= MAX_ROW_ID:
        return None
    return int(text)


class ApiKeysController(Controller):
    path = "/referrals/api-keys"
    include_in_schema = False

    @get("/", opt=REFER)
    async def api_keys(self, staff: NamedDependency[StaffUser], notice: FromQuery[str] = "") -> Template:
        try:
            partner_id = await partner_of(staff)
        except NotAPartner:
            return _not_linked()
        return await _keys_page(partner_id, notice=NOTICES.get(notice))

    @post("/", opt=REFER)
    async def make_api_key(self, staff: NamedDependency[StaffUser], data: FormData) -> Template:
        # The secret is in this page only, never in a URL: no redirect after making a key.
        try:
            partner_id = await partner_of(staff)
        except NotAPartner:
            return _not_linked()
        name, errors = validate_key_name(data.get("name"))
        if errors:
            return await _keys_page(partner_id, HTTP_422_UNPROCESSABLE_ENTITY, form=data, errors=errors)
        made = await create_api_key(staff, name, _now())
        return await _keys_page(partner_id, made=made)

    @post("/revoke", opt=REFER)
    async def revoke(self, staff: NamedDependency[StaffUser], data: FormData) -> Template | Redirect:
        try:
            partner_id = await partner_of(staff)
        except NotAPartner:
            return _not_linked()
        key_id = _key_id(data.get("key_id", ""))
        if key_id is None:
            return await _keys_page(partner_id, HTTP_422_UNPROCESSABLE_ENTITY, problem="Choose a key to revoke")
        try:
            await revoke_api_key(staff, key_id, _now())
        except BookingError as error:
            return await _keys_page(partner_id, error.http_status, problem=error.message)
        return see_other(f"{LIST}?notice=revoked")
