"""Every staff route × every role, and venue scoping: the table below is the authorisation contract.

``RULES`` names, for each staff route, the permission it needs (booking/staff.py grants permissions to
roles) and, for routes about one thing, that the thing must be at one of the staff member's venues. A
route added without a row here fails ``test_every_staff_route_is_in_the_table``; a route that lets a
role in that the table keeps out (or the reverse) fails the role tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar.routes import HTTPRoute

from booking.service import book_place
from booking.staff import ROLE_PERMISSIONS
from booking.staff import Permission as P
from booking.states import StaffRole
from booking.tables import Series, WaitlistEntry
from tests.builders import make_activity, make_room, make_session, make_venue, resident, unique
from tests.web.staff.support import make_staff, sign_in, staff_csrf
from web.app import create_app

PUBLIC = "public"
SCOPED = True  #: the route acts on one venue's thing: other venues' staff are refused
ANY = False

#: (method, path) -> (permission, scoped). Public pages: (PUBLIC, ANY).
RULES: dict[tuple[str, str], tuple[P | str, bool]] = {
    # Accounts (web/staff/auth.py)
    ("GET", "/staff/sign-in"): (PUBLIC, ANY),
    ("POST", "/staff/sign-in"): (PUBLIC, ANY),
    ("GET", "/staff/password-reset"): (PUBLIC, ANY),
    ("POST", "/staff/password-reset"): (PUBLIC, ANY),
    ("GET", "/staff/password/{token:str}"): (PUBLIC, ANY),
    ("POST", "/staff/password/{token:str}"): (PUBLIC, ANY),
    ("POST", "/staff/sign-out"): (P.ACCOUNT, ANY),
    ("GET", "/staff/account"): (P.ACCOUNT, ANY),
    ("POST", "/staff/account/password"): (P.ACCOUNT, ANY),
    # Dashboard, reports and audit log (web/staff/dashboard.py, reports.py, audit.py)
    ("GET", "/staff"): (P.ACCOUNT, ANY),  # partner staff are sent on to their referrals
    ("GET", "/staff/reports"): (P.VIEW_REPORTS, ANY),
    ("GET", "/staff/reports.csv"): (P.VIEW_REPORTS, ANY),
    ("GET", "/staff/audit"): (P.VIEW_AUDIT_LOG, ANY),
    # Staff accounts (web/staff/people.py): not about one venue
    ("GET", "/staff/people"): (P.MANAGE_STAFF, ANY),
    ("GET", "/staff/people/new"): (P.MANAGE_STAFF, ANY),
    ("POST", "/staff/people/new"): (P.MANAGE_STAFF, ANY),
    ("GET", "/staff/people/{staff_id:int}/edit"): (P.MANAGE_STAFF, ANY),
    ("POST", "/staff/people/{staff_id:int}/edit"): (P.MANAGE_STAFF, ANY),
    ("GET", "/staff/people/{staff_id:int}/invitation"): (P.MANAGE_STAFF, ANY),
    ("POST", "/staff/people/{staff_id:int}/deactivate"): (P.MANAGE_STAFF, ANY),
    ("POST", "/staff/people/{staff_id:int}/reactivate"): (P.MANAGE_STAFF, ANY),
    ("POST", "/staff/people/{staff_id:int}/invite-again"): (P.MANAGE_STAFF, ANY),
    ("POST", "/staff/people/{staff_id:int}/unlock"): (P.MANAGE_STAFF, ANY),
    # Venues, rooms, activities and partners (web/staff/venues.py, activities.py, partners.py)
    ("GET", "/staff/venues"): (P.MANAGE_ROOMS, ANY),
    ("GET", "/staff/venues/new"): (P.MANAGE_VENUES, ANY),
    ("POST", "/staff/venues/new"): (P.MANAGE_VENUES, ANY),
    ("GET", "/staff/venues/{venue_id:int}"): (P.MANAGE_ROOMS, SCOPED),
    ("GET", "/staff/venues/{venue_id:int}/edit"): (P.MANAGE_VENUES, SCOPED),
    ("POST", "/staff/venues/{venue_id:int}/edit"): (P.MANAGE_VENUES, SCOPED),
    ("POST", "/staff/venues/{venue_id:int}/archive"): (P.MANAGE_VENUES, SCOPED),
    ("POST", "/staff/venues/{venue_id:int}/unarchive"): (P.MANAGE_VENUES, SCOPED),
    ("GET", "/staff/venues/{venue_id:int}/rooms/new"): (P.MANAGE_ROOMS, SCOPED),
    ("POST", "/staff/venues/{venue_id:int}/rooms/new"): (P.MANAGE_ROOMS, SCOPED),
    ("GET", "/staff/rooms/{room_id:int}/edit"): (P.MANAGE_ROOMS, SCOPED),
    ("POST", "/staff/rooms/{room_id:int}/edit"): (P.MANAGE_ROOMS, SCOPED),
    ("POST", "/staff/rooms/{room_id:int}/archive"): (P.MANAGE_ROOMS, SCOPED),
    ("POST", "/staff/rooms/{room_id:int}/unarchive"): (P.MANAGE_ROOMS, SCOPED),
    ("GET", "/staff/activities"): (P.MANAGE_ACTIVITIES, ANY),
    ("GET", "/staff/activities/new"): (P.MANAGE_ACTIVITIES, ANY),
    ("POST", "/staff/activities/new"): (P.MANAGE_ACTIVITIES, ANY),
    ("GET", "/staff/activities/{activity_id:int}/edit"): (P.MANAGE_ACTIVITIES, ANY),
    ("POST", "/staff/activities/{activity_id:int}/edit"): (P.MANAGE_ACTIVITIES, ANY),
    ("POST", "/staff/activities/{activity_id:int}/archive"): (P.MANAGE_ACTIVITIES, ANY),
    ("POST", "/staff/activities/{activity_id:int}/unarchive"): (P.MANAGE_ACTIVITIES, ANY),
    ("GET", "/staff/partners"): (P.MANAGE_PARTNERS, ANY),
    ("GET", "/staff/partners/new"): (P.MANAGE_PARTNERS, ANY),
    ("POST", "/staff/partners/new"): (P.MANAGE_PARTNERS, ANY),
    ("GET", "/staff/partners/{partner_id:int}/edit"): (P.MANAGE_PARTNERS, ANY),
    ("POST", "/staff/partners/{partner_id:int}/edit"): (P.MANAGE_PARTNERS, ANY),
    ("POST", "/staff/partners/{partner_id:int}/archive"): (P.MANAGE_PARTNERS, ANY),
    ("POST", "/staff/partners/{partner_id:int}/unarchive"): (P.MANAGE_PARTNERS, ANY),
    # The programme (web/staff/programme.py, sessions.py)
    ("GET", "/staff/programme"): (P.MANAGE_PROGRAMME, ANY),
    ("GET", "/staff/venues/{venue_id:int}/sessions/new"): (P.MANAGE_PROGRAMME, SCOPED),
    ("POST", "/staff/venues/{venue_id:int}/sessions/new"): (P.MANAGE_PROGRAMME, SCOPED),
    ("GET", "/staff/venues/{venue_id:int}/series/new"): (P.MANAGE_PROGRAMME, SCOPED),
    ("POST", "/staff/venues/{venue_id:int}/series/new"): (P.MANAGE_PROGRAMME, SCOPED),
    ("GET", "/staff/sessions/{session_id:int}"): (P.MANAGE_PROGRAMME, SCOPED),
    ("GET", "/staff/sessions/{session_id:int}/edit"): (P.MANAGE_PROGRAMME, SCOPED),
    ("POST", "/staff/sessions/{session_id:int}/edit"): (P.MANAGE_PROGRAMME, SCOPED),
    ("GET", "/staff/sessions/{session_id:int}/cancel"): (P.MANAGE_PROGRAMME, SCOPED),
    ("POST", "/staff/sessions/{session_id:int}/cancel"): (P.MANAGE_PROGRAMME, SCOPED),
    ("GET", "/staff/series/{series_id:int}"): (P.MANAGE_PROGRAMME, SCOPED),
    # The register (web/staff/register.py)
    ("GET", "/staff/sessions/{session_id:int}/register"): (P.TAKE_REGISTER, SCOPED),
    ("GET", "/staff/sessions/{session_id:int}/register/print"): (P.TAKE_REGISTER, SCOPED),
    ("GET", "/staff/sessions/{session_id:int}/register.csv"): (P.EXPORT_PERSONAL_DATA, SCOPED),
    ("POST", "/staff/bookings/{booking_id:int}/attendance"): (P.TAKE_REGISTER, SCOPED),
    ("GET", "/staff/sessions/{session_id:int}/walk-in"): (P.TAKE_REGISTER, SCOPED),
    ("POST", "/staff/sessions/{session_id:int}/walk-in"): (P.TAKE_REGISTER, SCOPED),
    ("GET", "/staff/sessions/{session_id:int}/book"): (P.TAKE_REGISTER, SCOPED),
    ("POST", "/staff/sessions/{session_id:int}/book"): (P.TAKE_REGISTER, SCOPED),
    ("GET", "/staff/bookings/{booking_id:int}/booked"): (P.TAKE_REGISTER, SCOPED),
    ("GET", "/staff/bookings/{booking_id:int}/cancel"): (P.TAKE_REGISTER, SCOPED),
    ("POST", "/staff/bookings/{booking_id:int}/cancel"): (P.TAKE_REGISTER, SCOPED),
    ("POST", "/staff/waitlist/{entry_id:int}/move-up"): (P.TAKE_REGISTER, SCOPED),
    # Referrals (web/staff/referrals.py): partner staff, for their own organisation only
    ("GET", "/staff/referrals"): (P.MAKE_REFERRALS, ANY),
    ("GET", "/staff/referrals/new"): (P.MAKE_REFERRALS, ANY),
    ("POST", "/staff/referrals/new"): (P.MAKE_REFERRALS, ANY),
    ("GET", "/staff/referrals/report"): (P.VIEW_REPORTS, ANY),
    ("GET", "/staff/referrals/{referral_id:int}/cancel"): (P.MAKE_REFERRALS, ANY),
    ("POST", "/staff/referrals/{referral_id:int}/cancel"): (P.MAKE_REFERRALS, ANY),
    # Partner API keys (web/staff/api_keys.py): partner staff, for their own organisation only
    ("GET", "/staff/referrals/api-keys"): (P.MAKE_REFERRALS, ANY),
    ("POST", "/staff/referrals/api-keys"): (P.MAKE_REFERRALS, ANY),
    ("POST", "/staff/referrals/api-keys/revoke"): (P.MAKE_REFERRALS, ANY),
}


def staff_routes() -> set[tuple[str, str]]:
    app = create_app()
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/staff"):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    if method not in {"HEAD", "OPTIONS"}:
                        found.add((method, route.path))
    return found


def test_every_staff_route_is_in_the_table():
    routes = staff_routes()
    missing = sorted(routes - set(RULES))
    assert not missing, f"staff routes with no authorisation rule in RULES: {missing}"
    gone = sorted(set(RULES) - routes)
    assert not gone, f"RULES lists routes that no longer exist: {gone}"


async def _things_at(venue) -> dict[str, int]:
    """One of everything at a venue, for the path parameters of scoped routes."""
    room = await make_room(venue=venue)
    activity = await make_activity()
    session = await make_session(capacity=1, room=room, activity=activity, starts_in=timedelta(days=3))
    booking = await book_place(session.id, resident(unique("authz")), 1)
    now = datetime.now(UTC)
    series = Series(
        activity=activity.id, room=room.id, rule="FREQ=WEEKLY;COUNT=1", first_starts_at=session.starts_at,
        duration_minutes=60, capacity=1, created_at=now,
    )
    await series.save()
    waiting = WaitlistEntry(session=session.id, resident=booking.resident_id, party_size=1, status="waiting",
                            created_at=now)
    await waiting.save()
    return {
        "venue_id": venue.id, "room_id": room.id, "session_id": session.id, "series_id": series.id,
        "booking_id": booking.booking_id, "entry_id": waiting.id,
        "activity_id": activity.id, "partner_id": activity.partner, "token": "1.not-a-real-token",
        "referral_id": 1,  # scoped by partner, not venue: the table checks the permission only
    }


def _fill(path: str, values: dict[str, int]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + ":int}", str(value)).replace("{" + name + ":str}", str(value))
    assert "{" not in path, f"no test value for a path parameter in {path}"
    return path


def _is_sign_in_redirect(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/staff/sign-in?next=")


@pytest.fixture
async def places(db):
    own, other = await make_venue(name="Authorised Library"), await make_venue(name="Other Library")
    target = await make_staff("volunteer", [other])  # the account staff-account routes act on
    own_things, other_things = await _things_at(own), await _things_at(other)
    own_things["staff_id"] = other_things["staff_id"] = target.id
    return own, own_things, other_things


def _expected(role: StaffRole | None, rule: tuple, at_other_venue: bool) -> str:
    permission, scoped = rule
    if permission == PUBLIC:
        return "allowed"
    if role is None:
        return "sign in"
    if permission not in ROLE_PERMISSIONS[role]:
        return "refused"
    if scoped and at_other_venue and role is not StaffRole.ADMIN:
        return "refused"
    return "allowed"


def _outcome(response) -> str:
    if _is_sign_in_redirect(response):
        return "sign in"
    if response.status_code == 403:
        return "refused"
    if response.status_code >= 500 or response.status_code == 401:
        return f"error {response.status_code}"
    return "allowed"


@pytest.mark.parametrize("role", [None, *StaffRole], ids=["anonymous", *(r.value for r in StaffRole)])
async def test_each_role_reaches_exactly_what_the_table_allows(staff_client, places, role):
    own, own_things, other_things = places
    if role is not None:
        await sign_in(staff_client, await make_staff(role, [own]))
    token = await staff_csrf(staff_client, "/staff/sign-in")
    wrong = []
    # Reads first, then changes, ending with sign-out so it cannot hide the routes after it.
    ordered = sorted(RULES, key=lambda key: (key[0] != "GET", key[1] == "/staff/sign-out", key[1]))
    for method, path in ordered:
        rule = RULES[(method, path)]
        if path.startswith(("/staff/sign-in", "/staff/password")) and method == "POST":
            continue  # public forms that sign in or send mail: tested in test_sign_in.py and test_password_reset.py
        for at_other in ((False, True) if rule[1] else (False,)):
            url = _fill(path, other_things if at_other else own_things)
            if method == "GET":
                response = await staff_client.get(url)
            else:
                response = await staff_client.request(method, url, data={"_csrf_token": token})
            expected, got = _expected(role, rule, at_other), _outcome(response)
            if got != expected:
                wrong.append(f"{method} {url} ({'other' if at_other else 'own'} venue): expected {expected}, got {got} "
                             f"({response.status_code})")
    assert not wrong, "\n".join(wrong)
