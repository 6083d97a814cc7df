"""Every error becomes a response here: JSON under /api/, a friendly page everywhere else."""

from __future__ import annotations

import logging
import sqlite3
from urllib.parse import urlencode

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_303_SEE_OTHER,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from booking.errors import BookingError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
SIGN_IN_PAGE = "/my-bookings"
STAFF_PREFIX = "/staff"
STAFF_SIGN_IN = "/staff/sign-in"  #: where a resident who is not signed in asks for a sign-in link
#: Paths machines call: errors are JSON there, never a page.
MACHINE_PREFIXES = (API_PREFIX, "/webhooks/")

PAGE_TITLES = {
    400: "There is a problem with your request",
    403: "Your form has expired",
    404: "Page not found",
    405: "Page not found",
    409: "Sorry, that did not work",
    422: "There is a problem with your request",
    429: "Too many attempts",
    503: "Sorry, the service is unavailable",
}

DATABASE_UNAVAILABLE = (
    "Sorry, we could not reach our records just now. Nothing was booked \N{EM DASH} please try again in a minute."
)
RETRY_AFTER_SECONDS = "60"
#: What the database drivers raise when the database is down, restarting, full or unreachable (not bugs).
#: OSError covers a refused or reset connection and a connect time-out.
DATABASE_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,  # SQLSTATE 08: the connection is gone
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,  # starting up or recovering after a crash
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # "connection is closed", a pool being closed
)
#: sqlite3.OperationalError also means bad SQL; only these messages mean "busy or unreachable".
SQLITE_UNAVAILABLE_MESSAGES = ("database is locked", "unable to open database file", "disk i/o error")


def is_api(request: Request) -> bool:
    return request.url.path.startswith(MACHINE_PREFIXES)


def error_page(request: Request, status_code: int, message: str | None = None, *, title: str | None = None) -> Template:
    return Template(
        template_name="staff/error.html" if request.url.path.startswith(STAFF_PREFIX) else "error.html",
        context={
            "status_code": status_code,
            "title": title or PAGE_TITLES.get(status_code, "Sorry, there is a problem with the service"),
            "message": message,
        },
        status_code=status_code,
    )


def _to_staff_sign_in(request: Request) -> Response:
    """Not signed in (or signed out meanwhile): to the sign-in page, and back here afterwards."""
    target = f"{STAFF_SIGN_IN}?{urlencode({'next': request.url.path if request.method == 'GET' else '/staff'})}"
    if request.headers.get("hx-request"):
        return Response(content="", status_code=HTTP_401_UNAUTHORIZED, headers={"HX-Redirect": target})
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


def booking_error_handler(request: Request, exc: BookingError) -> Response:
    """The one mapping from a domain error to HTTP."""
    if is_api(request):
        return Response({"reason": exc.code, "detail": exc.message}, status_code=exc.http_status)
    return error_page(request, exc.http_status, exc.message)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    if is_api(request) or request.url.path.startswith("/schema"):
        content: dict[str, object] = {"status_code": exc.status_code, "detail": exc.detail}
        if exc.extra:
            content["extra"] = exc.extra
        return Response(content, status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == HTTP_401_UNAUTHORIZED and request.url.path.startswith(STAFF_PREFIX):
        return _to_staff_sign_in(request)
    if exc.status_code == HTTP_403_FORBIDDEN and request.url.path.startswith(STAFF_PREFIX) and exc.detail:
        return error_page(request, exc.status_code, str(exc.detail), title="You cannot use this page")
    if exc.status_code == HTTP_401_UNAUTHORIZED:  # a resident's own page: ask them to sign in first
        return Redirect(SIGN_IN_PAGE, status_code=HTTP_303_SEE_OTHER)
    return error_page(request, exc.status_code)  # framework details are for developers, not residents


def internal_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("Unhandled error on %s %s", request.method, request.url.path)
    if is_api(request):
        return Response({"status_code": 500, "detail": "Internal Server Error"}, status_code=500)
    return error_page(request, HTTP_500_INTERNAL_SERVER_ERROR)


def database_unavailable_handler(request: Request, exc: Exception) -> Response:
    """The database did not answer: a 503 that says nothing was booked and to try again, never a 500.

    Nothing was booked because every use case writes in one transaction that did not commit. (If the
    connection died during COMMIT itself the outcome is unknown; the booking form's idempotency key
    makes "try again" find that booking rather than make a second one.)
    """
    logger.warning("Database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    headers = {"Retry-After": RETRY_AFTER_SECONDS}
    if is_api(request):
        content = {"status_code": HTTP_503_SERVICE_UNAVAILABLE, "detail": DATABASE_UNAVAILABLE}
        return Response(content, status_code=HTTP_503_SERVICE_UNAVAILABLE, headers=headers)
    page = error_page(request, HTTP_503_SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE)
    page.headers.update(headers)
    return page


def sqlite_operational_error_handler(request: Request, exc: sqlite3.OperationalError) -> Response:
    if str(exc).lower().startswith(SQLITE_UNAVAILABLE_MESSAGES):
        return database_unavailable_handler(request, exc)
    return internal_error_handler(request, exc)


EXCEPTION_HANDLERS = {
    **dict.fromkeys(DATABASE_UNAVAILABLE_ERRORS, database_unavailable_handler),
    sqlite3.OperationalError: sqlite_operational_error_handler,
    BookingError: booking_error_handler,
    HTTPException: http_exception_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
