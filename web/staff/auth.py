"""Staff sign-in and sign-out, password reset by e-mail, setting a password from a link, changing it."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_410_GONE, HTTP_422_UNPROCESSABLE_ENTITY

from booking.staff import Permission, StaffUser
from booking.staff_accounts import (
    SignInRefused,
    StaffAccountError,
    authenticate,
    change_password,
    check_email,
    check_new_password,
    find_staff_link,
    normalise_email,
    record_sign_out,
    request_password_reset,
    set_password_with_link,
)
from booking.tables import Venue
from web.staff.access import PUBLIC_STAFF_PAGE, staff_rule
from web.staff.session import sign_in_staff, sign_out_staff

FormData = URLEncodedBody[dict[str, str]]
DASHBOARD = "/staff"
REFERRALS = "/staff/referrals"  #: partner staff's first page: they have no dashboard
ACCOUNT = "/staff/account"
SIGN_IN = "/staff/sign-in"
NOTICES = {
    "password-set": "Your password is saved. Sign in with it now.",
    "signed-out": "You have signed out.",
}


def safe_next(value: object) -> str:
    """Where to go after signing in: only a staff page on this site, never another site."""
    text = str(value or "")
    if len(text) > 2000 or "\\" in text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return DASHBOARD  # browsers read a backslash as a slash and drop tabs and newlines
    if text == DASHBOARD or text.startswith(("/staff/", "/staff?")):
        return text
    return DASHBOARD


def home_page(user: StaffUser) -> str:
    """Where someone lands when no other page was asked for: the dashboard, or (partner staff) their referrals."""
    if user.can(Permission.SEE_SESSIONS):
        return DASHBOARD
    return REFERRALS if user.can(Permission.MAKE_REFERRALS) else ACCOUNT


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _page(template: str, status_code: int = 200, **context) -> Template:
    return Template(template_name=f"staff/{template}", context=context, status_code=status_code)


class StaffAuthController(Controller):
    path = "/"

    @get("/sign-in", opt=PUBLIC_STAFF_PAGE)
    async def sign_in_page(self, next: FromQuery[str] = "", notice: FromQuery[str] = "") -> Template:
        return _page("sign_in.html", form={}, errors={}, next_page=safe_next(next), notice=NOTICES.get(notice))

    @post("/sign-in", opt=PUBLIC_STAFF_PAGE)
    async def sign_in(self, request: Request, data: FormData) -> Template | Redirect:
        email = normalise_email(data.get("email"))[:320]
        password = str(data.get("password") or "")[:1024]
        next_page = safe_next(data.get("next"))
        errors = {}
        if not email:
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"
        if not errors:
            try:
                user, auth_version = await authenticate(email, password, now=datetime.now(UTC))
            except SignInRefused as refused:
                errors["email"] = refused.message
            else:
                sign_in_staff(request, user.id, auth_version)
                landing = home_page(user) if next_page == DASHBOARD else next_page
                return Redirect(landing, status_code=HTTP_303_SEE_OTHER)
        return _page("sign_in.html", HTTP_422_UNPROCESSABLE_ENTITY, form={"email": email}, errors=errors,
                     next_page=next_page, notice=None)

    @post("/sign-out", opt=staff_rule(Permission.ACCOUNT))
    async def sign_out(self, request: Request, staff: NamedDependency[StaffUser]) -> Redirect:
        await record_sign_out(staff, now=datetime.now(UTC))
        sign_out_staff(request)
        return Redirect(f"{SIGN_IN}?notice=signed-out", status_code=HTTP_303_SEE_OTHER)

    @get("/password-reset", opt=PUBLIC_STAFF_PAGE)
    async def reset_page(self) -> Template:
        return _page("password_reset.html", form={}, errors={}, sent=False)

    @post("/password-reset", opt=PUBLIC_STAFF_PAGE)
    async def request_reset(self, data: FormData) -> Template:
        email = normalise_email(data.get("email"))[:320]
        problem = check_email(email)
        if problem:
            return _page("password_reset.html", HTTP_422_UNPROCESSABLE_ENTITY, form={"email": email},
                         errors={"email": problem}, sent=False)
        await request_password_reset(email, now=datetime.now(UTC))
        return _page("password_reset.html", form={"email": email}, errors={}, sent=True)

    @get("/password/{token:str}", opt=PUBLIC_STAFF_PAGE)
    async def set_password_page(self, request: Request, token: FromPath[str]) -> Template:
        """Opening the link changes nothing (mail scanners follow links); the form does."""
        state = await find_staff_link(_secret(request), token, now=datetime.now(UTC))
        if state is None or not state.usable:
            return _unusable(state)
        return _page("set_password.html", form={}, errors={}, token=token, email=state.email,
                     purpose=state.purpose.value, unusable=None)

    @post("/password/{token:str}", opt=PUBLIC_STAFF_PAGE)
    async def set_password(self, request: Request, token: FromPath[str], data: FormData) -> Template | Redirect:
        now = datetime.now(UTC)
        state = await find_staff_link(_secret(request), token, now=now)
        if state is None or not state.usable:
            return _unusable(state)
        password, confirm = str(data.get("password") or "")[:1024], str(data.get("confirm") or "")[:1024]
        errors = {}
        problem = check_new_password(password, state.email)
        if problem:
            errors["password"] = problem
        elif password != confirm:
            errors["confirm"] = "The two passwords are not the same"
        else:
            try:
                await set_password_with_link(_secret(request), token, password, now=now)
            except StaffAccountError:  # the rules passed above, so the link was used a moment ago
                return _unusable(await find_staff_link(_secret(request), token, now=now))
        if errors:
            return _page("set_password.html", HTTP_422_UNPROCESSABLE_ENTITY, form={}, errors=errors, token=token,
                         email=state.email, purpose=state.purpose.value, unusable=None)
        sign_out_staff(request)
        return Redirect(f"{SIGN_IN}?notice=password-set", status_code=HTTP_303_SEE_OTHER)

    @get("/account", opt=staff_rule(Permission.ACCOUNT))
    async def account(self, staff: NamedDependency[StaffUser], notice: FromQuery[str] = "") -> Template:
        return await _account_page(staff, {}, notice="Your password has been changed." if notice == "changed" else None)

    @post("/account/password", opt=staff_rule(Permission.ACCOUNT))
    async def change_password(self, request: Request, staff: NamedDependency[StaffUser], data: FormData) -> Template | Redirect:
        current = str(data.get("current") or "")[:1024]
        password, confirm = str(data.get("password") or "")[:1024], str(data.get("confirm") or "")[:1024]
        errors = {}
        if not current:
            errors["current"] = "Enter your current password"
        problem = check_new_password(password, staff.email)
        if problem:
            errors["password"] = problem
        elif password != confirm:
            errors["confirm"] = "The two new passwords are not the same"
        if not errors:
            try:
                await change_password(staff.id, current, password)
            except StaffAccountError as error:
                field = "current" if "current" in error.message else "password"
                errors[field] = error.message
        if errors:
            return await _account_page(staff, errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
        loaded_version = await _auth_version(staff.id)
        sign_in_staff(request, staff.id, loaded_version)  # this browser stays signed in, under a new id
        return Redirect("/staff/account?notice=changed", status_code=HTTP_303_SEE_OTHER)


async def _auth_version(staff_member_id: int) -> int:
    from booking.staff_accounts import load_staff_user

    loaded = await load_staff_user(staff_member_id)
    return loaded[1] if loaded else 0


async def _account_page(staff: StaffUser, errors: dict, *, notice: str | None = None, status_code: int = 200) -> Template:
    names = []
    if staff.venue_ids:
        names = [row["name"] for row in await Venue.select(Venue.name).where(Venue.id.is_in(list(staff.venue_ids)))
                 .order_by(Venue.name)]
    return _page("account.html", status_code, form={}, errors=errors, notice=notice, venue_names=names)


def _unusable(state) -> Template:
    if state is not None and state.used:
        why = "This link has already been used. Each link works once."
    elif state is not None and state.expired:
        why = "This link has expired."
    else:
        why = "This link is not right: check you copied all of it, or it may have been replaced by a newer one."
    return _page("set_password.html", HTTP_410_GONE, unusable=why, form={}, errors={})
