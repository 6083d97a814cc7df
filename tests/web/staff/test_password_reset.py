"""Forgotten password and set-password links in the browser: same answer for any address, 410 for dead links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.staff_accounts import request_password_reset, staff_link_token
from booking.tables import StaffLink
from tests.web.conftest import web_settings
from tests.web.staff.support import PASSWORD, sign_in, staff_csrf

NEW_PASSWORD = "a fresh and long password"


async def reset_path(db, data_dir, member) -> tuple[str, int]:
    assert await request_password_reset(member.email, now=datetime.now(UTC))
    link = await StaffLink.select(StaffLink.id).where(StaffLink.staff_member == member.id).order_by(
        StaffLink.id, ascending=False
    ).first()
    token = await staff_link_token(web_settings(db, data_dir).secret_key, link["id"])
    return f"/staff/password/{token}", link["id"]


async def ask_for_reset(client, email: str):
    token = await staff_csrf(client, "/staff/password-reset")
    return await client.post("/staff/password-reset", data={"email": email, "_csrf_token": token})


async def test_known_and_unknown_addresses_get_the_same_page(staff_client, volunteer):
    known = await ask_for_reset(staff_client, volunteer.email)
    unknown = await ask_for_reset(staff_client, "nobody.at.all@staff.example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(volunteer.email, "X") == unknown.text.replace("nobody.at.all@staff.example.org", "X")
    assert "Check your email" in known.text


@pytest.mark.parametrize("email", ["", "not an address"])
async def test_a_bad_address_is_a_422_with_an_error_summary(staff_client, email):
    response = await ask_for_reset(staff_client, email)
    assert response.status_code == 422 and "There is a problem" in response.text


async def test_a_link_sets_the_password_once_and_signs_in_with_it(staff_client, volunteer, db, data_dir):
    path, _ = await reset_path(db, data_dir, volunteer)
    page = await staff_client.get(path)
    assert page.status_code == 200 and volunteer.email in page.text
    token = await staff_csrf(staff_client, path)
    saved = await staff_client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "_csrf_token": token})
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/sign-in?notice=password-set"

    again = await staff_client.get(path)
    assert again.status_code == 410 and "already been used" in again.text
    reused = await staff_client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "_csrf_token": token})
    assert reused.status_code == 410
    old_password = await staff_client.post(
        "/staff/sign-in", data={"email": volunteer.email, "password": PASSWORD, "_csrf_token": token}
    )
    assert old_password.status_code == 422
    await sign_in(staff_client, volunteer, NEW_PASSWORD)


async def test_an_expired_link_is_410(staff_client, volunteer, db, data_dir):
    path, link_id = await reset_path(db, data_dir, volunteer)
    await StaffLink.update({StaffLink.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        StaffLink.id == link_id
    )
    response = await staff_client.get(path)
    assert response.status_code == 410 and "This link has expired" in response.text


@pytest.mark.parametrize("token", ["1.abc", "nonsense", "99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "forged"])
async def test_a_forged_link_is_410(staff_client, volunteer, db, data_dir, token):
    if token == "forged":
        path, _ = await reset_path(db, data_dir, volunteer)
        token = path.rsplit("/", 1)[1][:-2] + "xx"
    response = await staff_client.get(f"/staff/password/{token}")
    assert response.status_code == 410 and "This link is not right" in response.text


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short pw", "short pw", "Password must be 12 characters or more"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords are not the same"),
        ("", "", "Password must be 12 characters or more"),
    ],
)
async def test_password_rules_are_422_with_messages_and_never_echoed(
    staff_client, volunteer, db, data_dir, password, confirm, message
):
    path, _ = await reset_path(db, data_dir, volunteer)
    token = await staff_csrf(staff_client, path)
    response = await staff_client.post(path, data={"password": password, "confirm": confirm, "_csrf_token": token})
    assert response.status_code == 422
    assert "There is a problem" in response.text and message in response.text
    if password:
        assert password not in response.text
    assert (await staff_client.get(path)).status_code == 200  # the link still works after a mistake
