"""A coordinator of one venue cannot reach another venue through ids in a form or a query string.

Ids in the path are covered for every route, role and venue by the RULES table in
tests/web/staff/test_route_authorization.py (each SCOPED route is driven at the staff member's venue and at
another; every route must have a row). Query-string venues are covered for the dashboard
(tests/web/staff/test_dashboard.py::test_a_coordinator_cannot_ask_for_another_venue), reports and their CSV
(test_reports.py::test_a_coordinator_cannot_ask_for_another_venues_report) and the venue list
(test_venues_and_rooms.py::test_a_coordinator_sees_only_their_venues_and_none_of_another_venues_pages); a new
one-off session in another venue's room by test_programme.py::test_bad_input_is_shown_again_with_messages.
What is left is here: a room id in the series and edit forms, and the programme's venue filter. Venue scoping is
SQL, so these run on both engines.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest

from booking.tables import Series, Session
from tests.builders import make_activity, make_room, make_session, make_venue
from tests.web.staff.support import make_staff, post_form, sign_in

pytestmark = pytest.mark.security

ANOTHER_VENUES_ROOM = "Choose one of this venue's rooms"


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


@pytest.fixture
async def venues(db):
    """(a coordinator's venue, another venue, the coordinator)."""
    own, other = await make_venue(name="Coordinator's Library"), await make_venue(name="Someone Else's Library")
    return own, other, await make_staff("coordinator", [own])


async def test_a_series_cannot_be_put_in_another_venues_room(engine_client, venues):
    own, other, coordinator = venues
    await sign_in(engine_client, coordinator)
    theirs, activity = await make_room(other, capacity=20), await make_activity()
    page = f"/staff/venues/{own.id}/series/new"
    answers = {
        "activity_id": str(activity.id), "room_id": str(theirs.id), "date": in_days(10), "start": "15:00",
        "end": "16:00", "capacity": "8", "setup_minutes": "0", "cleardown_minutes": "0",
        "frequency": "weekly", "count": "2",
    }  # fmt: skip
    response = await post_form(engine_client, page, answers, page=page)
    assert response.status_code == 422
    assert ANOTHER_VENUES_ROOM in html.unescape(response.text)
    assert await Series.count().where(Series.room == theirs.id) == 0
    assert await Session.count().where(Session.room == theirs.id) == 0


async def test_a_session_cannot_be_moved_into_another_venues_room(engine_client, venues):
    own, other, coordinator = venues
    await sign_in(engine_client, coordinator)
    ours = await make_session(room=await make_room(own, capacity=20), starts_in=timedelta(days=10))
    theirs = await make_room(other, capacity=20)
    page = f"/staff/sessions/{ours.id}/edit"
    answers = {
        "date": in_days(11), "start": "15:00", "end": "16:00", "room_id": str(theirs.id), "capacity": "8",
        "setup_minutes": "0", "cleardown_minutes": "0", "scope": "one",
    }  # fmt: skip
    response = await post_form(engine_client, page, answers, page=page)
    assert response.status_code == 422
    assert ANOTHER_VENUES_ROOM in html.unescape(response.text)
    row = await Session.select(Session.room, Session.starts_at).where(Session.id == ours.id).first()
    assert row == {"room": ours.room, "starts_at": ours.starts_at}


async def test_the_programme_ignores_another_venue_in_the_query_string(engine_client, venues):
    own, other, coordinator = venues
    await sign_in(engine_client, coordinator)
    await make_session(
        room=await make_room(other),
        activity=await make_activity(title="Their secret club"),
        starts_in=timedelta(days=1),
    )
    response = await engine_client.get(f"/staff/programme?venue_id={other.id}&week={in_days(1)}")
    assert response.status_code in (200, 422)
    assert "Their secret club" not in response.text and "Someone Else&#39;s Library" not in response.text
