"""Characters ``str.isdigit`` accepts but ``int()`` refuses ("²", "٣" is fine, "①" is not) never cause a 500."""

from __future__ import annotations

import pytest

from tests.builders import make_room, make_session
from tests.web.staff.support import staff_csrf

ODD_DIGITS = ["²", "①", "1²", "٣"]


@pytest.mark.parametrize("value", ODD_DIGITS)
async def test_query_parameters_with_odd_digits(as_admin, own_venue, value):
    for url in (
        f"/staff/programme?venue_id={value}&week={value}",
        f"/staff/reports?venue={value}",
        f"/staff/audit?venue={value}&page={value}",
        f"/staff?venue={value}",
        f"/whats-on?page={value}",
    ):
        response = await as_admin.get(url)
        assert response.status_code < 500, url


@pytest.mark.parametrize("value", ODD_DIGITS)
async def test_form_fields_with_odd_digits(as_admin, own_venue, value):
    room = await make_room(venue=own_venue)
    session = await make_session(room=room)
    token = await staff_csrf(as_admin, "/staff/account")
    posts = {
        f"/staff/venues/{own_venue.id}/sessions/new": {
            "activity_id": value, "room_id": value, "date": "2031-01-01", "start": "10:00", "end": "11:00",
            "capacity": value, "setup_minutes": value, "cleardown_minutes": value,
        },
        f"/staff/venues/{own_venue.id}/series/new": {"count": value, "capacity": value, "room_id": str(room.id)},
        f"/staff/sessions/{session.id}/edit": {"capacity": value, "room_id": value},
        f"/staff/sessions/{session.id}/walk-in": {"name": "Ada", "party_size": value},
        "/staff/people/new": {"email": "odd@example.org", "role": "volunteer", "venues": value},
        f"/staff/venues/{own_venue.id}/rooms/new": {"name": "Room", "capacity": value},
    }
    for url, data in posts.items():
        response = await as_admin.post(url, data={**data, "_csrf_token": token})
        assert response.status_code < 500, f"{url}: {response.status_code}"
