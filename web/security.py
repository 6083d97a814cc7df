"""Cookies, CSRF and the security headers every response carries."""

from __future__ import annotations

import hashlib
import hmac
import re

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.types import Message, Scope

from commons.settings import Settings
from web.resident_session import RotatingSessionConfig

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # manage tokens travel in URLs
    "x-frame-options": "DENY",
}

CSRF_HEADER = "x-csrftoken"
#: Pages that are the same for everyone and only ever read (GET; web/pages.py ``shared_page``): they carry no
#: CSRF token and skip the CSRF middleware, whose per-request cookie and token work was a tenth of their cost.
SHARED_PAGES = ("^/$", "^/whats-on$", "^/activities/[^/]+$", "^/venues/[^/]+$")


def derive_secret(settings: Settings, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so no component signs with the raw COMMONS_SECRET_KEY."""
    return hmac.new(settings.secret_key.encode(), f"commons-web:{purpose}".encode(), hashlib.sha256).digest()


def uses_https(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


SESSION_STORE = "web_sessions"
RATE_LIMIT_STORE = "rate_limit"
SESSION_MAX_AGE = 60 * 60 * 24  #: a day: long enough to come back to the confirmation page


def session_config(settings: Settings) -> ServerSideSessionConfig:
    """Remembers which bookings this browser made, and which resident signed in (web/resident_session.py)."""
    return RotatingSessionConfig(
        store=SESSION_STORE,
        key="commons_session",
        max_age=SESSION_MAX_AGE,
        secure=uses_https(settings),
        httponly=True,
        samesite="lax",
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=derive_secret(settings, "csrf").hex(),
        cookie_name="commons_csrf",
        header_name=CSRF_HEADER,
        cookie_secure=uses_https(settings),
        cookie_httponly=True,  # pages put the token in the form and in hx-headers, so scripts need not read it
        cookie_samesite="lax",
        # Requests that never rely on a cookie, so a forged cross-site request gains nothing:
        exclude=[
            "^/api/",  # the API authenticates with bearer tokens
            "^/notifications/unsubscribe/",  # the signed link is the credential (RFC 8058 one-click POST)
            "^/webhooks/",  # SMS providers sign their requests or send our bearer token
            *SHARED_PAGES,
        ],
    )


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: runs for every response, errors and unknown routes included."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value


#: Requests that make or cancel a booking (the confirm step, not the details step before it) or a waiting-list place;
#: requests for a "Find my bookings" sign-in link (each may send an e-mail or a text); staff sign-in and
#: password-reset attempts (besides each account's own lockout, booking/staff_accounts.py); and the forms behind
#: a one-time link (resident sign-in, staff set-password, confirming a referral), whose 192-bit signatures no
#: one guesses anyway.
BOOKING_ATTEMPT = re.compile(
    r"^/(sessions/\d+/(book/confirm|waitlist)|api/v1/sessions/\d+/(bookings|waitlist)|api/v1/bookings/|api/v1/offers/"
    r"|api/v1/referrals/?$|bookings/manage/|offers/|referrals/|my-bookings/?$|my-bookings/sign-in/"
    r"|staff/(sign-in$|password-reset$|password/))"
)


async def is_booking_attempt(request: Request) -> bool:
    # async: Litestar runs a plain function in a worker thread, a thread hop on every request.
    return request.method in {"POST", "DELETE"} and bool(BOOKING_ATTEMPT.match(request.url.path))


def booking_rate_limit(settings: Settings) -> RateLimitConfig:
    """Per client address; generous, because a whole library's public computers share one address."""
    return RateLimitConfig(
        rate_limit=("minute", settings.booking_rate_limit_per_minute),
        check_throttle_handler=is_booking_attempt,
        store=RATE_LIMIT_STORE,
    )
