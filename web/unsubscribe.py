"""Stop e-mails from the link in every message, by hand or by a mail provider's one-click POST (RFC 8058).

The signed token in the URL is the only credential: the route is exempt from CSRF (a mail provider's
one-click POST has neither our cookie nor our form token) and keeps no session. Opening the link
changes nothing; only the POST does, so a mail scanner fetching links cannot unsubscribe anyone.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK

from booking.clock import SystemClock
from notifications.preferences import stop_emails
from notifications.unsubscribe import verify_unsubscribe_token


def _resident_or_404(request: Request, token: str) -> int:
    resident_id = verify_unsubscribe_token(request.app.state.settings.secret_key, token)
    if resident_id is None:
        raise NotFoundException()
    return resident_id


class UnsubscribeController(Controller):
    include_in_schema = False
    path = "/notifications/unsubscribe/{token:str}"
    cache_control = CacheControlHeader(no_store=True)

    @get("/", name="unsubscribe")
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        _resident_or_404(request, token)
        return Template(template_name="unsubscribe.html", context={"token": token, "stopped": False})

    @post("/", name="stop_emails", status_code=HTTP_200_OK)
    async def stop(self, request: Request, token: FromPath[str]) -> Template:
        """The body is ignored: ``List-Unsubscribe=One-Click`` from a provider, or an empty form from our page."""
        await stop_emails(_resident_or_404(request, token), SystemClock().now())
        return Template(template_name="unsubscribe.html", context={"token": token, "stopped": True})
