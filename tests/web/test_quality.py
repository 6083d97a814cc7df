"""Quality promises of the resident pages: small, self-contained, strict CSP, no caching of personal pages."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlsplit

import httpx
import pytest

from booking.manage_links import signed_manage_token
from booking.tables import Booking
from commons.settings import get_settings
from tests.builders import make_session, unique
from tests.web.conftest import submit_booking
from tests.web.sign_in_support import sign_in_as, sign_in_link_for

HOME_PAGE_BUDGET = 50 * 1024  #: bytes transferred, compressed: HTML, CSS and JS together
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"')
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")
WEB_FONT = re.compile(r"@font-face|\.woff2?\b|\.ttf\b|\.otf\b|fonts\.googleapis", re.IGNORECASE)
HTMX_CONFIG = re.compile(r"""<meta name="htmx-config" content='([^']+)'>""")
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


async def transferred(client: httpx.AsyncClient, path: str) -> int:
    """Bytes on the wire for a path, as a browser that accepts gzip receives it."""
    async with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200, path
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return len(raw)


async def public_pages(client: httpx.AsyncClient) -> list[str]:
    session = await make_session()
    home = (await client.get("/")).text
    links = re.findall(r'href="(/(?:activities|venues)/[^"]+)"', home)
    return [
        "/",
        "/whats-on",
        "/whats-on?day=monday&time=morning",
        f"/sessions/{session.id}",
        "/privacy",
        "/accessibility",
        "/my-bookings",
        "/no-such-page",
        *links[:4],
    ]


async def book_in_browser(client: httpx.AsyncClient) -> tuple[str, str, str]:
    """Book through the form in this browser; returns (reference, manage path, e-mail)."""
    session = await make_session()
    email = f"{unique('quality')}@example.org"
    response = await submit_booking(client, session.id, email=email)
    assert response.status_code == 303, response.text
    reference = response.headers["location"].split("/")[2]
    row = await Booking.select(Booking.manage_token_hash).where(Booking.reference == reference).first()
    manage = f"/bookings/manage/{signed_manage_token(get_settings().secret_key, reference, row['manage_token_hash'])}"
    return reference, manage, email


async def booked_and_signed_in(client: httpx.AsyncClient) -> tuple[str, str, str]:
    reference, manage, email = await book_in_browser(client)
    await sign_in_as(client, email)
    return reference, manage, email


def never_stored(response: httpx.Response, path: str) -> None:
    assert response.status_code == 200, f"{path}: {response.status_code}"
    assert "no-store" in response.headers.get("cache-control", ""), path
    if response.headers["content-type"].startswith("text/html"):
        assert 'hx-history="false"' in response.text, f"{path} lets htmx keep a copy in its history"


async def test_the_home_page_with_its_css_and_js_is_under_50_kb_compressed(client, db):
    await make_session()
    page = (await client.get("/")).text
    assets = ASSET.findall(page)
    assert "/static/site.css" in assets and any(a.endswith(".js") for a in assets)

    sizes = {path: await transferred(client, path) for path in ["/", *assets]}

    assert sum(sizes.values()) < HOME_PAGE_BUDGET, sizes
    response = await client.get("/static/site.css", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"


async def test_resident_pages_use_nothing_from_other_sites_and_no_web_fonts(client, db):
    reference, manage, _ = await booked_and_signed_in(client)
    pages = [*await public_pages(client), "/my-data", "/my-data/all", "/my-data/delete", manage]
    ours = {"testserver.local", urlsplit(get_settings().base_url).hostname}  # feed links are absolute
    css = (await client.get("/static/site.css")).text
    assert not WEB_FONT.search(css) and not ABSOLUTE_URL.search(css.replace("http://www.w3.org", ""))

    for path in pages:
        text = (await client.get(path)).text
        foreign = [url for url in ABSOLUTE_URL.findall(html.unescape(text)) if urlsplit(url).hostname not in ours]
        assert foreign == [], f"{path} refers to other sites: {foreign}"
        assert not WEB_FONT.search(text), path


async def test_csp_is_self_only_and_htmx_is_locked_down(client, db):
    response = await client.get("/")
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert all("'self'" in value or value in ("'none'", "'self' data:") for value in directives.values()), policy
    assert "<script>" not in response.text and " style=" not in response.text and " on" + "click=" not in response.text

    config = json.loads(HTMX_CONFIG.search(response.text).group(1))
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["historyCacheSize"] == 0


async def test_every_personal_page_is_never_stored(client, db):
    reference, manage, email = await book_in_browser(client)
    confirmation = f"/bookings/{reference}/confirmation"  # only for the browser that booked, until it signs in
    never_stored(await client.get(confirmation), confirmation)
    link = await sign_in_link_for(email)
    never_stored(await client.get(link), link)
    await sign_in_as(client, email)
    pages = [
        "/my-data",
        "/my-data/all",
        "/my-data/download.json",
        "/my-data/delete",
        "/my-bookings",
        manage,
        f"{manage}/cancel",
        f"{manage}/calendar.ics",
    ]
    for path in pages:
        never_stored(await client.get(path), path)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/sessions/99999999999999999999", 400),
        ("POST", "/my-data/delete", 403),  # no form token
        ("GET", "/bookings/manage/not-a-token", 404),
    ],
)
async def test_error_pages_keep_the_security_headers(client, db, method, path, status):
    response = await client.request(method, path)

    assert response.status_code == status
    for header in SECURITY_HEADERS:
        assert header in response.headers, f"{header} missing on a {status}"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


async def test_a_signed_out_browser_sees_personal_pages_as_a_sign_in_prompt(client, db):
    response = await client.get("/my-data", follow_redirects=True)

    assert response.status_code == 200 and str(response.url).endswith("/my-bookings")
    assert "no-store" in response.headers.get("cache-control", "")
