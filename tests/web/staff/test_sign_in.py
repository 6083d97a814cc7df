"""Staff sign-in: the session id changes at sign-in and is gone after sign-out; not signed in means the sign-in page."""

from __future__ import annotations

from tests.web.staff.support import PASSWORD, sign_in, staff_csrf


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
