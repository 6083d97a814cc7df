"""Every error becomes a response here: JSON under /api/, a friendly page everywhere else."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_401_UNAUTHORIZED, HTTP_500_INTERNAL_SERVER_ERROR

from booking.errors import BookingError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
SIGN_IN_PAGE = "/my-bookings"  #: where a resident who is not signed in asks for a sign-in link
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
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith(MACHINE_PREFIXES)


def error_page(request: Request, status_code: int, message: str | None = None) -> Template:
    return Template(
        template_name="error.html",
        context={
            "status_code": status_code,
            "title": PAGE_TITLES.get(status_code, "Sorry, there is a problem with the service"),
            "message": message,
        },
        status_code=status_code,
    )


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
    if exc.status_code == HTTP_401_UNAUTHORIZED:  # a resident's own page: ask them to sign in first
        return Redirect(SIGN_IN_PAGE, status_code=HTTP_303_SEE_OTHER)
    return error_page(request, exc.status_code)  # framework details are for developers, not residents


def internal_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("Unhandled error on %s %s", request.method, request.url.path)
    if is_api(request):
        return Response({"status_code": 500, "detail": "Internal Server Error"}, status_code=500)
    return error_page(request, HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS = {
    BookingError: booking_error_handler,
    HTTPException: http_exception_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
