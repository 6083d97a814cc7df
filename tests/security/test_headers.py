"""Every kind of response carries the full set of security headers, with a strict Content-Security-Policy.

tests/web/test_pages.py checks a page, a static file and the JSON API, and tests/web/test_quality.py error pages;
this adds a staff page and a redirect, and checks every kind against the same full list.
"""

from __future__ import annotations

import pytest

from tests.web.conftest import browser, web_settings
from tests.web.staff.support import make_staff, sign_in

pytestmark = pytest.mark.security


def header_problems(response) -> list[str]:
    headers, problems = response.headers, []
    policy = headers.get("content-security-policy", "")
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    if directives.get("frame-ancestors") != "'none'":
        problems.append(f"CSP frame-ancestors is not 'none': {policy!r}")
    if directives.get("default-src") != "'self'":
        problems.append(f"CSP default-src is not 'self': {policy!r}")
    if "'unsafe-inline'" in policy or "'unsafe-eval'" in policy:
        problems.append(f"CSP allows unsafe-inline or unsafe-eval: {policy!r}")
    expected = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}
    problems += [f"{name}: {headers.get(name)!r}" for name, value in expected.items() if headers.get(name) != value]
    return problems


async def test_every_kind_of_response_carries_the_security_headers(sqlite_db, data_dir):
    async with browser(web_settings(sqlite_db, data_dir)) as client:
        kinds = {"redirect (signed-out staff page)": await client.get("/staff")}
        await sign_in(client, await make_staff("volunteer"))
        kinds |= {
            "page": await client.get("/"),
            "staff page": await client.get("/staff/account"),
            "error page (404)": await client.get("/no/such/page"),
            "JSON API": await client.get("/api/v1/sessions"),
            "static file": await client.get("/static/site.css"),
        }
    expected_status = {"redirect (signed-out staff page)": 303, "error page (404)": 404}
    for kind, response in kinds.items():
        assert response.status_code == expected_status.get(kind, 200), f"{kind}: {response.status_code}"
    assert kinds["JSON API"].headers["content-type"].startswith("application/json")
    assert kinds["static file"].headers["content-type"].startswith("text/css")
    problems = {kind: header_problems(response) for kind, response in kinds.items()}
    assert not any(problems.values()), problems
