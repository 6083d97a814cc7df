"""Staff sign-in: session id rotation, sign-out, lockout, safe redirects, the rate limit and the cookie's flags."""

from __future__ import annotations

import pytest

from booking.staff_accounts import SIGN_IN_REFUSED
from booking.tables import StaffMember
from tests.web.conftest import browser, web_settings
from tests.web.staff.support import PASSWORD, post_form, sign_in, staff_csrf

NEW_PASSWORD = "a different long password"


async def test_a_staff_page_sends_someone_not_signed_in_to_sign_in_and_back(staff_client):
    response = await staff_client.get("/staff/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/sign-in?next=%2Fstaff%2Faccount"


async def test_signing_in_gives_a_new_session_id_and_signing_out_ends_it(staff_client, volunteer):
    await staff_client.get("/staff/sign-in")
    await sign_in(staff_client, volunteer)
    first_id = staff_client.cookies.get("commons_staff")
    assert first_id
    assert (await staff_client.get("/staff/account")).status_code == 200
    # Sign in again: yet another id, and the old one is worth nothing.
    await sign_in(staff_client, volunteer)
    second_id = staff_client.cookies.get("commons_staff")
    assert second_id and second_id != first_id
    token = await staff_csrf(staff_client, "/staff/account")
    signed_out = await staff_client.post("/staff/sign-out", data={"_csrf_token": token})
    assert signed_out.status_code == 303
    staff_client.cookies.set("commons_staff", second_id, path="/staff")
    assert (await staff_client.get("/staff/account")).status_code == 303


async def test_a_wrong_password_keeps_the_email_and_never_echoes_the_password(staff_client, volunteer):
    token = await staff_csrf(staff_client)
    response = await staff_client.post(
        "/staff/sign-in", data={"email": volunteer.email, "password": "not-the-password", "_csrf_token": token}
    )
    assert response.status_code == 422
    assert "The email address or password is not right" in response.text
    assert f'value="{volunteer.email}"' in response.text
    assert "not-the-password" not in response.text
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    "next_page",
    [
        "//evil.example",
        "https://evil.example",
        "/staff\\@evil.example",
        "/\\evil.example",
        "/staff/\t/evil.example",
        "/staffevil.example",
        "javascript:alert(1)",
        "",
    ],
)
async def test_after_sign_in_only_a_staff_page_on_this_site(staff_client, volunteer, next_page):
    token = await staff_csrf(staff_client)
    response = await staff_client.post(
        "/staff/sign-in",
        data={"email": volunteer.email, "password": PASSWORD, "next": next_page, "_csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"


async def test_after_sign_in_the_staff_page_asked_for(staff_client, volunteer):
    asked = await staff_client.get("/staff/account")
    sign_in_page = await staff_client.get(asked.headers["location"])
    assert 'name="next" value="/staff/account"' in sign_in_page.text
    token = await staff_csrf(staff_client)
    response = await staff_client.post(
        "/staff/sign-in",
        data={"email": volunteer.email, "password": PASSWORD, "next": "/staff/account", "_csrf_token": token},
    )
    assert response.headers["location"] == "/staff/account"


async def test_an_unknown_address_gets_the_same_message_as_a_wrong_password(staff_client, volunteer):
    token = await staff_csrf(staff_client)
    unknown = await staff_client.post(
        "/staff/sign-in", data={"email": "nobody.here@staff.example.org", "password": PASSWORD, "_csrf_token": token}
    )
    wrong = await staff_client.post(
        "/staff/sign-in", data={"email": volunteer.email, "password": "a wrong password", "_csrf_token": token}
    )
    assert unknown.status_code == wrong.status_code == 422
    assert SIGN_IN_REFUSED in unknown.text and SIGN_IN_REFUSED in wrong.text


async def test_the_sixth_attempt_is_refused_even_with_the_right_password(staff_client, volunteer):
    token = await staff_csrf(staff_client)
    for attempt in range(5):
        response = await staff_client.post(
            "/staff/sign-in", data={"email": volunteer.email, "password": f"wrong {attempt}", "_csrf_token": token}
        )
        assert response.status_code == 422
    locked = await staff_client.post(
        "/staff/sign-in", data={"email": volunteer.email, "password": PASSWORD, "_csrf_token": token}
    )
    assert locked.status_code == 422 and "locked for 15 minutes" in locked.text


async def test_an_empty_sign_in_form_asks_for_both(staff_client):
    response = await staff_client.post("/staff/sign-in", data={"_csrf_token": await staff_csrf(staff_client)})
    assert response.status_code == 422
    assert "Enter your email address" in response.text and "Enter your password" in response.text


async def test_too_many_sign_in_attempts_from_one_address_get_a_429(db, data_dir, volunteer):
    async with browser(web_settings(db, data_dir, COMMONS_BOOKING_RATE_LIMIT="3")) as client:
        token = await staff_csrf(client)
        for _ in range(3):
            response = await client.post(
                "/staff/sign-in", data={"email": volunteer.email, "password": "wrong one", "_csrf_token": token}
            )
            assert response.status_code == 422
        refused = await client.post(
            "/staff/sign-in", data={"email": volunteer.email, "password": PASSWORD, "_csrf_token": token}
        )
        assert refused.status_code == 429
        assert (await client.get("/staff/sign-in")).status_code == 200  # reading the page is never limited


@pytest.mark.parametrize("base_url", ["http://commons.example", "https://commons.example"])
async def test_the_staff_cookie_is_httponly_strict_for_staff_pages_only_and_secure_behind_https(
    db, data_dir, volunteer, base_url
):
    async with browser(web_settings(db, data_dir, COMMONS_BASE_URL=base_url)) as client:
        client.base_url = base_url.replace("commons.example", "testserver.local")
        response = await sign_in(client, volunteer)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("commons_staff="))
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/staff"
    assert ("secure" in attributes) == base_url.startswith("https://")


async def test_changing_the_password_signs_out_other_browsers_but_not_this_one(staff_client, volunteer, db, data_dir):
    async with browser(web_settings(db, data_dir)) as other:
        await sign_in(other, volunteer)
        await sign_in(staff_client, volunteer)
        response = await post_form(
            staff_client,
            "/staff/account/password",
            {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert response.status_code == 303
        assert (await staff_client.get("/staff/account")).status_code == 200
        assert (await other.get("/staff/account")).status_code == 303


async def test_a_bad_new_password_on_the_account_page_is_422_and_never_echoed(as_volunteer):
    response = await post_form(
        as_volunteer, "/staff/account/password", {"current": "typed current", "password": "short", "confirm": "other"}
    )
    assert response.status_code == 422
    assert "Password must be 12 characters or more" in response.text
    for typed in ("typed current", 'value="short"', 'value="other"'):
        assert typed not in response.text
    assert (await post_form(as_volunteer, "/staff/account/password")).status_code == 422


async def test_a_deactivated_account_is_signed_out_at_its_next_request(as_volunteer, volunteer):
    await StaffMember.raw(
        "UPDATE staff_member SET active = {}, auth_version = auth_version + 1 WHERE id = {}", False, volunteer.id
    )
    response = await as_volunteer.get("/staff/account")
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/sign-in")
