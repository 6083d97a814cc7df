"""The one check in front of every staff route: signed in, allowed by role, and at the right venue.

Each staff route handler declares its rule in ``opt`` with ``staff_rule(...)``: the ``Permission`` it
needs and, when it acts on one thing, the ``VenueScope`` naming the path parameter that finds its
venue. A route without a rule is refused with a 500 (and fails tests/web/staff/test_route_authorization.py),
so forgetting one can never open a page to everyone.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from booking.staff import Permission, StaffUser, VenueScope
from booking.staff_access import venue_of
from booking.staff_accounts import load_staff_user
from web.staff.session import session_staff

PERMISSION = "staff_permission"
SCOPE = "staff_venue_scope"
PUBLIC = "staff_public"  #: sign-in and password pages: open to anyone
STATE_KEY = "staff_user"


class StaffNotSignedIn(NotAuthorizedException):
    """Shown as a redirect to the staff sign-in page (web/errors.py)."""


class StaffAccessDenied(PermissionDeniedException):
    """Signed in, but this role or venue may not use the page."""


class MissingStaffRule(RuntimeError):
    pass


def staff_rule(permission: Permission, scope: VenueScope | None = None) -> dict[str, Any]:
    """``opt`` for a staff route: ``@get("/x", opt=staff_rule(Permission.SEE_SESSIONS))``."""
    return {PERMISSION: permission, SCOPE: scope}


PUBLIC_STAFF_PAGE: dict[str, Any] = {PUBLIC: True}


def rule_of(handler: BaseRouteHandler) -> tuple[Permission, VenueScope | None] | None:
    """The handler's declared rule, or None if it is public. Raises ``MissingStaffRule`` if it has none."""
    if handler.opt.get(PUBLIC):
        return None
    permission = handler.opt.get(PERMISSION)
    if not isinstance(permission, Permission):
        raise MissingStaffRule(f"staff route {handler} declares no Permission: add opt=staff_rule(...)")
    return permission, handler.opt.get(SCOPE)


async def staff_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    rule = rule_of(handler)
    if rule is None:
        return
    permission, scope = rule
    signed_in = session_staff(connection)
    if signed_in is None:
        raise StaffNotSignedIn("Sign in to use the staff pages")
    loaded = await load_staff_user(signed_in[0])
    if loaded is None or loaded[1] != signed_in[1]:
        raise StaffNotSignedIn("Your session has ended: sign in again")
    user = loaded[0]
    if not user.can(permission):
        raise StaffAccessDenied("Your role does not include this page. Ask an administrator if you need it.")
    if scope is not None:
        venue_id = await venue_of(scope, connection.path_params.get(scope.value))
        if venue_id is None:
            raise NotFoundException()
        if not user.works_at(venue_id):
            raise StaffAccessDenied("This belongs to a venue you do not work at.")
    connection.state[STATE_KEY] = user


def current_staff(request: Request) -> StaffUser:
    """Dependency ``staff: StaffUser`` for staff handlers (set by the guard)."""
    user = request.state.get(STATE_KEY)
    if user is None:
        raise StaffNotSignedIn("Sign in to use the staff pages")
    return user
