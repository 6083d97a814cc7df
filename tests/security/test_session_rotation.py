"""Signing in gives a new session id and the id held before it stops working, for residents and for staff.

On both engines: PostgreSQL keeps web sessions in the ``server_side_session`` table, SQLite in files.

Already tested elsewhere, not repeated here:
- a resident's id planted before sign-in is replaced, and sign-out deletes the session server-side:
  tests/web/test_account.py::test_the_session_id_changes_at_sign_in_and_dies_at_sign_out
- staff sign-out deletes the session server-side:
  tests/web/staff/test_sign_in.py::test_signing_in_gives_a_new_session_id_and_signing_out_ends_it
- a staff password change or deactivation signs every other browser out: tests/web/staff/test_sign_in.py
"""

from __future__ import annotations

import pytest

from booking.tables import Booking, ServerSideSession
from tests.builders import make_session, make_venue
from tests.web.account_support import SESSION_COOKIE, sign_in_as
from tests.web.conftest import submit_booking
from tests.web.staff.support import make_staff, sign_in

pytestmark = pytest.mark.security

STAFF_COOKIE = "commons_staff"


async def test_a_residents_session_from_before_sign_in_is_gone_after_it(engine_client, engine_other_client):
    client, other_client = engine_client, engine_other_client
    session = await make_session(capacity=10)
    booked = await submit_booking(client, session.id, name="Ada Rotation", email="rotation-ada@example.org")
    assert booked.status_code == 303
    confirmation = booked.headers["location"]
    before = client.cookies.get(SESSION_COOKIE)
    assert before and (await client.get(confirmation)).status_code == 200  # a real session, holding the booking

    reference = confirmation.split("/")[2]
    resident_id = (await Booking.select(Booking.resident).where(Booking.reference == reference).first())["resident"]
    await sign_in_as(client, "rotation-ada@example.org", resident_id)
    after = client.cookies.get(SESSION_COOKIE)
    assert after and after != before
    assert reference in (await client.get("/my-bookings")).text

    # Someone who copied the old cookie gets neither the sign-in nor what the old session held.
    other_client.cookies.set(SESSION_COOKIE, before, domain="testserver.local")
    assert reference not in (await other_client.get("/my-bookings")).text
    assert (await other_client.get(confirmation)).status_code == 404


async def test_each_staff_sign_in_gives_a_new_id_and_the_previous_one_stops_working(
    db, engine_client, engine_other_client
):
    client, other_client = engine_client, engine_other_client
    member = await make_staff("coordinator", [await make_venue()])
    await sign_in(client, member)
    first = client.cookies.get(STAFF_COOKIE)
    await sign_in(client, member)
    second = client.cookies.get(STAFF_COOKIE)
    assert first and second and first != second
    assert (await client.get("/staff/account")).status_code == 200
    if db.kind == "postgres":  # the old id's row is gone from the table, the new one's is there
        stored = [row["key"] for row in await ServerSideSession.select(ServerSideSession.key)]
        assert not any(key.endswith(first) for key in stored)
        assert any(key.endswith(second) for key in stored)

    other_client.cookies.set(STAFF_COOKIE, first, path="/staff")
    response = await other_client.get("/staff/account")
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/sign-in")
    other_client.cookies.clear()
    other_client.cookies.set(STAFF_COOKIE, second, path="/staff")
    assert (await other_client.get("/staff/account")).status_code == 200  # the current id does work
