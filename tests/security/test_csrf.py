"""Every state-changing route refuses a request without the CSRF token, bar the documented exemptions.

The routes are read from ``create_app().routes``, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import re

import pytest
from litestar.routes import HTTPRoute

from commons.settings import load_settings
from tests.web.conftest import CSRF_INPUT, app_for, browser, web_settings
from tests.web.staff.support import make_staff, sign_in
from web.app import create_app
from web.security import csrf_config

pytestmark = pytest.mark.security

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
#: Requests that never rely on a cookie (web/security.py says why); widening this list needs a decision.
SHARED_PAGES = ["^/$", "^/whats-on$", "^/activities/[^/]+$", "^/venues/[^/]+$"]  #: exempt: nothing there changes state
EXEMPT = ["^/api/", "^/notifications/unsubscribe/", "^/webhooks/", *SHARED_PAGES]
#: Plausible values for path parameters: the CSRF check runs before any handler looks them up.
PATH_VALUES = {"int": "999999999", "str": "1.not-a-real-token"}  #: ids no row has: nothing changes
PATH_PARAMETER = re.compile(r"\{\w+:(\w+)\}")
SIGN_OUTS = ("/staff/sign-out", "/my-bookings/sign-out")


def test_the_csrf_exemptions_are_exactly_the_documented_ones():
    assert csrf_config(load_settings({"COMMONS_ENV": "test"})).exclude == EXEMPT


@pytest.mark.parametrize("pattern", SHARED_PAGES)
def test_a_shared_page_exemption_covers_only_pages_that_read(pattern):
    app = create_app(load_settings({"COMMONS_ENV": "test"}))
    covered = [
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and re.match(pattern, route.path)
        for handler in route.route_handlers
        for method in handler.http_methods
    ]
    assert covered and {method for method, _path in covered} <= {"GET", "HEAD", "OPTIONS"}, covered


def state_changing_routes(app) -> list[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods & STATE_CHANGING:
                    found.add((method, route.path))
    assert app.csrf_config.exclude == EXEMPT  # the app is built with the config checked above
    guarded = [(m, p) for m, p in found if not any(re.match(prefix, p) for prefix in EXEMPT)]
    # Sign-outs last, so they cannot end the staff session the routes after them need.
    return sorted(guarded, key=lambda route: (route[1] in SIGN_OUTS, route))


def _fill(path: str) -> str:
    filled = PATH_PARAMETER.sub(lambda match: PATH_VALUES[match.group(1)], path)
    assert "{" not in filled, f"no test value for a path parameter in {path}"
    return filled


async def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(sqlite_db, data_dir):
    settings = web_settings(sqlite_db, data_dir, COMMONS_BOOKING_RATE_LIMIT="10000")
    routes = state_changing_routes(app_for(settings))
    assert len(routes) > 40  # the walk found the app's forms, not an empty list
    async with browser(settings) as client:
        await sign_in(client, await make_staff("admin"))  # so a /staff refusal is CSRF's, not the guard's
        page = await client.get("/staff/account")
        token = CSRF_INPUT.search(page.text).group(1)
        assert client.cookies.get("commons_csrf")  # the browser holds the cookie; only the token is missing
        unguarded, refused_anyway = [], []
        for method, path in routes:
            url = _fill(path)
            without = await client.request(method, url, data={"field": "x"})
            if without.status_code != 403:
                unguarded.append(f"{method} {path}: {without.status_code}")
                continue
            with_token = await client.request(method, url, data={"field": "x", "_csrf_token": token})
            if with_token.status_code == 403:
                refused_anyway.append(f"{method} {path}")
    assert not unguarded, "state-changing routes that accept a request without the CSRF token:\n" + "\n".join(unguarded)
    assert not refused_anyway, "403 even with the token, so the test cannot tell it is CSRF's:\n" + "\n".join(refused_anyway)
