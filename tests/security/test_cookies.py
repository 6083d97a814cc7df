"""The CSRF cookie's flags, and the resident session cookie's Path and Secure on plain HTTP.

Already covered elsewhere, so not repeated here: the session cookie's HttpOnly, SameSite=lax and Secure behind
https (tests/web/test_booking_form.py), and every flag of the staff cookie (tests/web/staff/test_sign_in.py).
"""

from __future__ import annotations

import pytest

from tests.builders import make_session
from tests.web.conftest import browser, submit_booking, web_settings

pytestmark = pytest.mark.security


def cookie_attributes(response, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header for ``name``, keyed by lower-case attribute name."""
    cookie = next((c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")), None)
    assert cookie is not None, f"no {name} cookie set"
    return {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}


@pytest.mark.parametrize("base_url", ["http://commons.example", "https://commons.example"])
async def test_the_csrf_and_session_cookies_are_httponly_lax_site_wide_and_secure_only_behind_https(
    sqlite_db, data_dir, base_url
):
    secure = base_url.startswith("https://")
    session = await make_session(capacity=5)
    async with browser(web_settings(sqlite_db, data_dir, COMMONS_BASE_URL=base_url)) as client:
        client.base_url = base_url.replace("commons.example", "testserver.local")
        first = await client.get(f"/sessions/{session.id}")
        booked = await submit_booking(client, session.id, email=f"cookies.{session.id}@example.org")
    assert booked.status_code == 303, booked.text

    csrf = cookie_attributes(first, "commons_csrf")
    assert "httponly" in csrf  # pages carry the token in the form; scripts never need the cookie
    assert csrf["samesite"].lower() == "samesite=lax"
    assert csrf["path"] == "Path=/"
    assert ("secure" in csrf) == secure

    resident = cookie_attributes(booked, "commons_session")
    assert "httponly" in resident
    assert resident["path"] == "Path=/"
    assert ("secure" in resident) == secure
