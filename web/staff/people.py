"""Staff accounts, for administrators: the list, a new account, changes, deactivating, new links, unlocking.

A new account's set-password link is shown once, on the page after the form: it is kept in the
administrator's (server-side) session between the POST and the page, and taken out when shown.
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from booking.staff import Permission, StaffUser
from booking.staff_accounts import StaffAccountError, staff_link_token
from booking.staff_admin import (
    StaffAccount,
    StaffForm,
    StaffFormInvalid,
    StaffMemberNotFound,
    create_staff,
    deactivate_staff,
    get_staff,
    invite_again,
    list_staff,
    partner_choices,
    reactivate_staff,
    unlock_staff,
    update_staff,
    venue_choices,
)
from booking.states import StaffRole
from web.staff.access import staff_rule

RULE = staff_rule(Permission.MANAGE_STAFF)
LINK_KEY = "staff_invitation"  #: in the session: the one-time link waiting to be shown
NOTICES = {
    "saved": "The changes are saved.",
    "deactivated": "The account is deactivated. Anyone signed in with it has been signed out.",
    "reactivated": "The account is active again.",
    "unlocked": "The account is unlocked. They can sign in now.",
}


def _page(template: str, status_code: int = 200, **context) -> Template:
    return Template(template_name=f"staff/{template}", context=context, status_code=status_code)


async def _read_form(request: Request) -> StaffForm:
    data = await request.form()
    return StaffForm(
        name=str(data.get("name") or "")[:1000],
        role=str(data.get("role") or ""),
        venue_ids=tuple(str(value)[:20] for value in data.getall("venues", [])[:500]),
        email=str(data.get("email") or "")[:1000],
        partner_id=str(data.get("partner") or "")[:20],
    )


def _form_values(form: StaffForm) -> dict:
    return {
        "name": form.name,
        "email": form.email,
        "role": form.role,
        "venues": set(form.venue_ids),
        "partner": form.partner_id,
    }


def _account_values(account: StaffAccount) -> dict:
    return {
        "name": account.name,
        "email": account.email,
        "role": account.role.value,
        "venues": {str(venue_id) for venue_id in account.venue_ids},
        "partner": str(account.partner_id or ""),
    }


async def _account_or_404(staff_id: int) -> StaffAccount:
    account = await get_staff(staff_id)
    if account is None:
        raise NotFoundException("There is no such staff account.")
    return account


def _remember_link(request: Request, staff_id: int, url: str) -> Redirect:
    request.set_session({**request.session, LINK_KEY: {"staff_id": staff_id, "url": url}})
    return Redirect(f"/staff/people/{staff_id}/invitation", status_code=HTTP_303_SEE_OTHER)


async def _link_url(request: Request, link_id: int) -> str:
    token = await staff_link_token(request.app.state.settings.secret_key, link_id)
    return f"{request.app.state.settings.base_url.rstrip('/')}/staff/password/{token}"


class StaffPeopleController(Controller):
    path = "/people"

    @get("/", opt=RULE)
    async def people(self) -> Template:
        return _page("people.html", accounts=await list_staff(), now=datetime.now(UTC))

    @get("/new", opt=RULE)
    async def new_page(self) -> Template:
        return await self._form_page(None, {"role": StaffRole.VOLUNTEER.value, "venues": set()}, {})

    @post("/new", opt=RULE)
    async def create(self, request: Request, staff: NamedDependency[StaffUser]) -> Template | Redirect:
        form = await _read_form(request)
        try:
            staff_id, link_id = await create_staff(staff, form, now=datetime.now(UTC))
        except StaffFormInvalid as invalid:
            return await self._form_page(None, _form_values(form), invalid.errors, HTTP_422_UNPROCESSABLE_ENTITY)
        return _remember_link(request, staff_id, await _link_url(request, link_id))

    @get("/{staff_id:int}/invitation", opt=RULE)
    async def invitation(self, request: Request, staff_id: FromPath[int]) -> Template:
        """The link, once: reloading the page (or coming back later) no longer shows it."""
        account = await _account_or_404(staff_id)
        waiting = request.session.get(LINK_KEY) if isinstance(request.session, dict) else None
        url = None
        if isinstance(waiting, dict) and waiting.get("staff_id") == account.id:
            url = waiting.get("url")
            request.set_session({key: value for key, value in request.session.items() if key != LINK_KEY})
        return _page("people_invitation.html", account=account, url=url)

    @get("/{staff_id:int}/edit", opt=RULE)
    async def edit_page(self, staff_id: FromPath[int], notice: FromQuery[str] = "") -> Template:
        account = await _account_or_404(staff_id)
        return await self._form_page(account, _account_values(account), {}, notice=NOTICES.get(notice))

    @post("/{staff_id:int}/edit", opt=RULE)
    async def edit(self, request: Request, staff: NamedDependency[StaffUser], staff_id: FromPath[int]) -> Template | Redirect:
        account = await _account_or_404(staff_id)
        form = await _read_form(request)
        try:
            await update_staff(staff, account.id, form, now=datetime.now(UTC))
        except StaffFormInvalid as invalid:
            values = {**_form_values(form), "email": account.email}
            return await self._form_page(account, values, invalid.errors, HTTP_422_UNPROCESSABLE_ENTITY)
        except StaffMemberNotFound as gone:
            raise NotFoundException(gone.message) from gone
        return _done(account.id, "saved")

    @post("/{staff_id:int}/deactivate", opt=RULE)
    async def deactivate(self, staff: NamedDependency[StaffUser], staff_id: FromPath[int]) -> Template | Redirect:
        return await self._act(staff, staff_id, deactivate_staff, "deactivated")

    @post("/{staff_id:int}/reactivate", opt=RULE)
    async def reactivate(self, staff: NamedDependency[StaffUser], staff_id: FromPath[int]) -> Template | Redirect:
        return await self._act(staff, staff_id, reactivate_staff, "reactivated")

    @post("/{staff_id:int}/unlock", opt=RULE)
    async def unlock(self, staff: NamedDependency[StaffUser], staff_id: FromPath[int]) -> Template | Redirect:
        return await self._act(staff, staff_id, unlock_staff, "unlocked")

    @post("/{staff_id:int}/invite-again", opt=RULE)
    async def invite(self, request: Request, staff: NamedDependency[StaffUser], staff_id: FromPath[int]) -> Template | Redirect:
        account = await _account_or_404(staff_id)
        try:
            link_id = await invite_again(staff, account.id, now=datetime.now(UTC))
        except StaffAccountError as refused:
            return await self._refused(account, refused)
        return _remember_link(request, account.id, await _link_url(request, link_id))

    async def _act(self, staff: StaffUser, staff_id: int, action, notice: str) -> Template | Redirect:
        account = await _account_or_404(staff_id)
        try:
            await action(staff, account.id, now=datetime.now(UTC))
        except StaffAccountError as refused:
            return await self._refused(account, refused)
        return _done(account.id, notice)

    async def _refused(self, account: StaffAccount, refused: StaffAccountError) -> Template:
        if isinstance(refused, StaffMemberNotFound):
            raise NotFoundException(refused.message)
        return await self._form_page(
            account, _account_values(account), {}, HTTP_422_UNPROCESSABLE_ENTITY, problem=refused.message
        )

    async def _form_page(
        self, account: StaffAccount | None, values: dict, errors: dict, status_code: int = 200, **extra
    ) -> Template:
        return _page(
            "people_form.html",
            status_code,
            account=account,
            form=values,
            errors=errors,
            roles=list(StaffRole),
            venues=await venue_choices(),
            partners=await partner_choices(account.partner_id if account else None),
            now=datetime.now(UTC),
            **{"notice": None, "problem": None, **extra},
        )


def _done(staff_id: int, notice: str) -> Redirect:
    return Redirect(f"/staff/people/{staff_id}/edit?notice={notice}", status_code=HTTP_303_SEE_OTHER)
