"""Venue and room pages: who may use them, forms that keep what was typed, refusals, and the audit entry."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest

from booking.tables import Room, Venue
from tests.builders import make_activity, make_room, make_session, make_venue, unique
from tests.web.staff.support import latest_audit, post_form


def venue_data(**changes) -> dict[str, str]:
    data = {
        "name": unique("Rugeley Library"),
        "address": "Anson Street\nRugeley",
        "postcode": "WS15 2BH",
        "time_zone": "Europe/London",
        "phone": "01889 256 000",
        "opening_hours": "",
        "accessibility": "",
        "latitude": "",
        "longitude": "",
    }
    return {**data, **changes}


async def test_an_admin_adds_a_venue_and_sees_it_with_a_success_banner(as_admin, admin):
    data = venue_data()
    response = await post_form(as_admin, "/staff/venues/new", data, page="/staff/venues/new")
    assert response.status_code == 303
    venue = await Venue.select(Venue.id, Venue.postcode).where(Venue.name == data["name"]).first()
    assert response.headers["location"] == f"/staff/venues/{venue['id']}?notice=created"
    page = await as_admin.get(response.headers["location"])
    assert page.status_code == 200
    assert "Added." in page.text and html.escape(data["name"]) in page.text
    entry = await latest_audit("venue", venue["id"])
    assert (entry["action"], entry["staff_member"], entry["venue"]) == ("venue.created", admin.id, venue["id"])


async def test_a_wrong_venue_form_is_shown_again_with_the_problems_and_what_was_typed(as_admin):
    data = venue_data(postcode="not a postcode", time_zone="Europe/Atlantis", name="Hall <b>one</b>")
    response = await post_form(as_admin, "/staff/venues/new", data, page="/staff/venues/new")
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert '<a href="#postcode">Enter a real UK postcode, like WS11 1DB</a>' in response.text
    assert "Enter a time zone name from the IANA list" in response.text
    assert 'value="not a postcode"' in response.text
    assert 'value="Hall &lt;b&gt;one&lt;/b&gt;"' in response.text
    assert await Venue.count().where(Venue.name == data["name"]) == 0


async def test_only_admins_add_or_change_venues(as_coordinator, own_venue):
    assert (await as_coordinator.get("/staff/venues/new")).status_code == 403
    assert (await as_coordinator.get(f"/staff/venues/{own_venue.id}/edit")).status_code == 403
    response = await post_form(as_coordinator, "/staff/venues/new", venue_data(), page="/staff/venues")
    assert response.status_code == 403
    response = await post_form(as_coordinator, f"/staff/venues/{own_venue.id}/archive", page="/staff/venues")
    assert response.status_code == 403
    assert not (await Venue.select(Venue.archived).where(Venue.id == own_venue.id).first())["archived"]


async def test_a_coordinator_sees_only_their_venues_and_none_of_another_venues_pages(
    as_coordinator, own_venue, other_venue
):
    other_room = await make_room(other_venue, name="Their room")
    listing = await as_coordinator.get("/staff/venues")
    assert listing.status_code == 200
    assert "Our Library" in listing.text and f"/staff/venues/{other_venue.id}" not in listing.text
    own_page = await as_coordinator.get(f"/staff/venues/{own_venue.id}")
    assert own_page.status_code == 200
    assert f'href="/staff/venues/{own_venue.id}/sessions/new"' in own_page.text  # coordinators run the programme
    assert f'action="/staff/venues/{own_venue.id}/archive"' not in own_page.text  # only admins archive venues
    for path in (
        f"/staff/venues/{other_venue.id}",
        f"/staff/venues/{other_venue.id}/rooms/new",
        f"/staff/rooms/{other_room.id}/edit",
    ):
        assert (await as_coordinator.get(path)).status_code == 403, path
    for path in (
        f"/staff/venues/{other_venue.id}/rooms/new",
        f"/staff/rooms/{other_room.id}/edit",
        f"/staff/rooms/{other_room.id}/archive",
    ):
        response = await post_form(as_coordinator, path, {"name": "Mine now", "capacity": "5"}, page="/staff/venues")
        assert response.status_code == 403, path
    stored = await Room.select(Room.name, Room.archived).where(Room.id == other_room.id).first()
    assert stored == {"name": "Their room", "archived": False}
    assert await Room.count().where(Room.venue == other_venue.id) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/staff/venues",
        "/staff/venues/{venue}",
        "/staff/venues/{venue}/rooms/new",
        "/staff/rooms/{room}/edit",
        "/staff/venues/new",
        "/staff/venues/{venue}/edit",
    ],
)
async def test_volunteers_cannot_use_the_venue_pages(as_volunteer, own_venue, path):
    room = await make_room(own_venue)
    assert (await as_volunteer.get(path.format(venue=own_venue.id, room=room.id))).status_code == 403


async def test_ids_that_name_nothing_are_not_found(as_admin):
    for path in ("/staff/venues/99999999999", "/staff/venues/2147483000/rooms/new", "/staff/rooms/99999999999/edit"):
        assert (await as_admin.get(path)).status_code == 404, path


async def test_a_coordinator_adds_and_changes_a_room_with_an_audit_entry(as_coordinator, coordinator, own_venue):
    response = await post_form(
        as_coordinator,
        f"/staff/venues/{own_venue.id}/rooms/new",
        {"name": "Garden room", "capacity": "18", "hearing_loop": "yes"},
        page="/staff/venues",
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/venues/{own_venue.id}?notice=created"
    room = await Room.select().where(Room.venue == own_venue.id, Room.name == "Garden room").first()
    assert (room["capacity"], room["hearing_loop"], room["step_free_access"]) == (18, True, False)
    form_page = await as_coordinator.get(f"/staff/rooms/{room['id']}/edit")
    assert 'id="hearing_loop" name="hearing_loop" type="checkbox" value="yes" checked' in form_page.text
    response = await post_form(
        as_coordinator,
        f"/staff/rooms/{room['id']}/edit",
        {"name": "Garden room", "capacity": "20", "hearing_loop": "yes"},
        page="/staff/venues",
    )
    assert response.status_code == 303
    entry = await latest_audit("room", room["id"])
    assert (entry["action"], entry["staff_member"], entry["venue"]) == ("room.updated", coordinator.id, own_venue.id)
    assert entry["after"] == '{"capacity": 20}'


async def test_shrinking_a_room_below_an_upcoming_session_names_the_session(as_coordinator, own_venue):
    room = await make_room(own_venue, capacity=30, name="Main hall")
    await make_session(capacity=24, room=room, activity=await make_activity(title="Tea dance"))
    response = await post_form(
        as_coordinator, f"/staff/rooms/{room.id}/edit", {"name": "Main hall", "capacity": "10"}, page="/staff/venues"
    )
    assert response.status_code == 422
    assert "Tea dance" in response.text and "(24 places)" in response.text
    assert 'value="10"' in response.text
    assert (await Room.select(Room.capacity).where(Room.id == room.id).first())["capacity"] == 30


async def test_archiving_a_room_with_an_upcoming_session_is_refused_with_the_reason(as_coordinator, own_venue):
    room = await make_room(own_venue, name="Busy room")
    await make_session(room=room, starts_in=timedelta(days=5))
    response = await post_form(as_coordinator, f"/staff/rooms/{room.id}/archive", page="/staff/venues")
    assert response.status_code == 409
    assert "Busy room has 1 upcoming session. Move or cancel it before you archive the room." in response.text
    quiet = await make_room(own_venue, name="Quiet room")
    response = await post_form(as_coordinator, f"/staff/rooms/{quiet.id}/archive", page="/staff/venues")
    assert response.status_code == 303
    assert (
        'Quiet room<span class="visually-hidden">: change</span></a></th>'
        in (await as_coordinator.get(response.headers["location"])).text
    )
    assert (await latest_audit("room", quiet.id))["action"] == "room.archived"


async def test_an_admin_archives_a_venue_once_its_sessions_are_gone(as_admin):
    venue = await make_venue()
    session = await make_session(room=await make_room(venue))
    refused = await post_form(as_admin, f"/staff/venues/{venue.id}/archive", page="/staff/venues")
    assert refused.status_code == 409
    assert f"{html.escape(venue.name)} has 1 upcoming session." in refused.text
    await session.remove()
    archived = await post_form(as_admin, f"/staff/venues/{venue.id}/archive", page="/staff/venues")
    assert archived.status_code == 303
    assert archived.headers["location"] == f"/staff/venues/{venue.id}?notice=archived"
    listing = await as_admin.get("/staff/venues")
    assert "Archived" in listing.text
    assert (await latest_audit("venue", venue.id))["action"] == "venue.archived"


async def test_editing_a_venue_shows_its_details_and_saves_changes(as_admin):
    venue = await make_venue()
    form_page = await as_admin.get(f"/staff/venues/{venue.id}/edit")
    assert form_page.status_code == 200 and f'value="{venue.slug}"' in form_page.text
    data = venue_data(name=venue.name, slug=venue.slug, opening_hours="Saturday: 10am to 1pm")
    response = await post_form(as_admin, f"/staff/venues/{venue.id}/edit", data, page="/staff/venues")
    assert response.status_code == 303
    stored = await Venue.select(Venue.opening_hours, Venue.postcode).where(Venue.id == venue.id).first()
    assert stored == {"opening_hours": "Saturday: 10am to 1pm", "postcode": "WS15 2BH"}
    entry = await latest_audit("venue", venue.id)
    assert entry["action"] == "venue.updated" and "opening_hours" in entry["after"]


async def test_an_empty_post_to_any_venue_or_room_form_is_never_a_server_error(as_admin):
    venue = await make_venue()
    room = await make_room(venue)
    paths = [
        "/staff/venues/new",
        f"/staff/venues/{venue.id}/edit",
        f"/staff/venues/{venue.id}/rooms/new",
        f"/staff/rooms/{room.id}/edit",
        f"/staff/rooms/{room.id}/archive",
        f"/staff/rooms/{room.id}/unarchive",
        f"/staff/venues/{venue.id}/archive",
        f"/staff/venues/{venue.id}/unarchive",
    ]
    for path in paths:
        response = await post_form(as_admin, path, page="/staff/venues")
        assert response.status_code in (303, 422), (path, response.status_code)


async def test_control_characters_typed_into_a_form_are_dropped_not_a_server_error(as_admin):
    name = unique("Nul\x00Hall")
    response = await post_form(
        as_admin, "/staff/venues/new", venue_data(name=name, address="1 Road\x00\r\nTown"), page="/staff/venues/new"
    )
    assert response.status_code == 303
    stored = await Venue.select(Venue.name, Venue.address).where(Venue.name == name.replace("\x00", "")).first()
    assert stored == {"name": name.replace("\x00", ""), "address": "1 Road\nTown"}
