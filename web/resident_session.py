"""Signed-in residents: who this browser is, after a "Find my bookings" link, for how long.

A resident has no password. Opening a one-time sign-in link (``booking/sign_in.py``) signs the
browser in for ``SIGNED_IN_FOR``; the server-side session gets a brand-new id at that moment (so a
session id planted before sign-in is worth nothing after it) and is deleted at sign-out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message, ScopeSession

from web.errors import DATABASE_UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

RESIDENT_KEY = "resident"
SIGNED_IN_FOR = timedelta(hours=2)
_ROTATE = "commons.rotate_session_id"  #: scope key: give this response a new session id
_NEW_ID = "commons.new_session_id"


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar keeps a session's id for ever; this backend can swap it for a new one on request."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        if connection.scope.get(_ROTATE):
            if _NEW_ID not in connection.scope:
                connection.scope[_NEW_ID] = self.generate_session_id()  # type: ignore[literal-required]
            return connection.scope[_NEW_ID]  # type: ignore[literal-required]
        return super().get_session_id(connection)

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection) -> None:
        """Save the session as the response starts. Litestar does this inside ``send``, where an error can no
        longer become the "try again" page, only a 500; so a database that went away after the handler
        finished costs this response its session change (a browser left signed out, as a lost write would),
        not the answer the handler gave. A fault test stops PostgreSQL between the two."""
        try:
            if connection.scope.get(_ROTATE):
                old_id = connection.cookies.get(self.config.key)
                if old_id:
                    await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            await super().store_in_message(scope_session, message, connection)
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            log.warning("Session not saved for %s %s: the database is unavailable (%s)",
                        connection.scope.get("method", ""), connection.url.path, exc)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def rotate_session_id(request: Request) -> None:
    """The response to this request carries a new session id; the old one is deleted from the store."""
    request.scope[_ROTATE] = True  # type: ignore[literal-required]


def sign_in(request: Request, resident_id: int, *, now: datetime | None = None) -> None:
    """Sign this browser in as the resident, under a new session id. Earlier session data is dropped."""
    now = now or datetime.now(UTC)
    rotate_session_id(request)
    request.set_session({RESIDENT_KEY: {"id": resident_id, "until": (now + SIGNED_IN_FOR).isoformat()}})


def sign_out(request: Request) -> None:
    """Forget everything this browser's session held and delete it from the store."""
    request.clear_session()


def signed_in_resident_id(request: Request, *, now: datetime | None = None) -> int | None:
    """The resident this browser is signed in as, or None (never signed in, or the time is up)."""
    session = request.scope.get("session")
    entry: Any = session.get(RESIDENT_KEY) if isinstance(session, dict) else None
    if not isinstance(entry, dict):
        return None
    try:
        until = datetime.fromisoformat(entry["until"])
        resident_id = int(entry["id"])
    except (KeyError, TypeError, ValueError):
        return None
    if (now or datetime.now(UTC)) >= until:
        return None
    return resident_id


def require_resident(request: Request) -> int:
    """For handlers that show or change a resident's own data: their id, or 401 (shown as "sign in")."""
    resident_id = signed_in_resident_id(request)
    if resident_id is None:
        raise NotAuthorizedException("Sign in to see your bookings")
    return resident_id
