"""Signed-in staff: their own cookie (``commons_staff``, path /staff, SameSite=Strict), server-side data.

The session id is replaced at sign-in (a planted id is worth nothing afterwards) and deleted at
sign-out. The session remembers the account's ``auth_version``: a password change or a deactivated
account bumps it, and every browser signed in before is signed out on its next request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionConfig

from commons.settings import Settings
from web.resident_session import RotatingSessionConfig, rotate_session_id

STAFF_KEY = "staff"
STAFF_COOKIE = "commons_staff"
SIGNED_IN_FOR = timedelta(hours=10)  #: a working day at the desk; then sign in again


def staff_session_config(settings: Settings, store: str) -> ServerSideSessionConfig:
    return RotatingSessionConfig(
        store=store,
        key=STAFF_COOKIE,
        path="/staff",
        max_age=int(SIGNED_IN_FOR.total_seconds()),
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )


def sign_in_staff(request: Request, staff_member_id: int, auth_version: int, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    rotate_session_id(request)
    request.set_session(
        {STAFF_KEY: {"id": staff_member_id, "auth_version": auth_version, "until": (now + SIGNED_IN_FOR).isoformat()}}
    )


def sign_out_staff(request: Request) -> None:
    request.clear_session()


def session_staff(connection: ASGIConnection, *, now: datetime | None = None) -> tuple[int, int] | None:
    """``(staff_member_id, auth_version)`` this browser signed in with, or None (never, or time is up)."""
    session = connection.scope.get("session")
    entry: Any = session.get(STAFF_KEY) if isinstance(session, dict) else None
    if not isinstance(entry, dict):
        return None
    try:
        until = datetime.fromisoformat(entry["until"])
        staff_member_id = int(entry["id"])
        auth_version = int(entry["auth_version"])
    except (KeyError, TypeError, ValueError):
        return None
    if (now or datetime.now(UTC)) >= until:
        return None
    return staff_member_id, auth_version
