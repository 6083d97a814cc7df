"""Venues, rooms, activities and partners as staff change them: each rule's message, and one audit entry per change."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from booking.activities_admin import (
    create_activity,
    create_partner,
    read_activity,
    read_partner,
    set_activity_archived,
    set_partner_archived,
    update_activity,
    update_partner,
)
from booking.admin_fields import InvalidDetails, StillInUse, slugify
from booking.listings import get_venue_page, list_venue_choices
from booking.staff_accounts import load_staff_user
from booking.states import ActivityCategory, SessionStatus
from booking.tables import Activity, AuditEntry, Partner, Room, Session, Venue
from booking.venues_admin import (
    create_room,
    create_venue,
    read_room,
    read_venue,
    set_room_archived,
    set_venue_archived,
    update_room,
    update_venue,
)
from tests.builders import make_activity, make_room, make_session, make_venue, unique
from tests.web.staff.support import make_staff


@pytest.fixture
async def actor(db):
    member = await make_staff("admin")
    loaded = await load_staff_user(member.id)
    return loaded[0]


def venue_form(**changes) -> dict[str, str]:
    form = {
        "name": unique("Hall"),
        "address": "1 Market Street\nCannock",
        "postcode": "ws11 1db",
        "time_zone": "",
        "phone": "01543 123456",
        "opening_hours": "Monday: 9am to 5pm",
        "accessibility": "Ramp at the front",
        "latitude": "52.69",
        "longitude": "-2.03",
    }
    return {**form, **changes}


def activity_form(**changes) -> dict[str, str]:
    form = {
        "title": unique("Knit and natter"),
        "category": ActivityCategory.CRAFT.value,
        "description": "Bring wool.",
        "default_capacity": "15",
        "default_duration_minutes": "90",
        "max_party_size": "2",
        "booking_opens_days": "14",
        "booking_closes_hours": "2",
        "max_active_bookings": "1",
        "waitlist_mode": "automatic",
        "offer_hours": "12",
        "reminder_hours": "2, 24",
    }
    return {**form, **changes}


async def audit_entries(subject_type: str, subject_id: int) -> list[dict]:
    return (
        await AuditEntry.select()
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id)
    )


def errors_of(form: dict, reader) -> dict[str, str]:
    with pytest.raises(InvalidDetails) as raised:
        reader(form)
    return raised.value.errors


# --- Reading the forms (pure) -------------------------------------------------------------------


def test_a_venue_form_is_normalised_and_the_time_zone_defaults_to_london():
    values = read_venue(venue_form(postcode=" ws111db ", latitude="52.123456789"))
    assert values["postcode"] == "WS11 1DB"
    assert values["time_zone"] == "Europe/London"
    assert values["latitude"] == pytest.approx(52.12346)


def test_every_wrong_venue_field_gets_its_own_message():
    errors = errors_of(
        venue_form(
            name="",
            address=" ",
            postcode="12345",
            time_zone="Mars/Olympus",
            phone="call me",
            slug="Not A Slug!",
            latitude="91",
            longitude="abc",
        ),
        read_venue,
    )
    assert errors == {
        "name": "Enter the venue's name",
        "slug": errors["slug"],
        "address": "Enter the venue's address",
        "postcode": "Enter a real UK postcode, like WS11 1DB",
        "time_zone": "Enter a time zone name from the IANA list, like Europe/London",
        "phone": errors["phone"],
        "latitude": "Latitude must be a number between -90 and 90, like 52.71",
        "longitude": "Longitude must be a number between -180 and 180, like 52.71",
    }
    assert "lowercase letters a to z" in errors["slug"]
    assert "only numbers, spaces" in errors["phone"]


def test_a_venue_needs_both_latitude_and_longitude_or_neither():
    assert errors_of(venue_form(longitude=""), read_venue) == {
        "longitude": "Enter both latitude and longitude, or leave both blank"
    }
    assert read_venue(venue_form(latitude="", longitude=""))["latitude"] is None


@pytest.mark.parametrize("capacity", ["0", "1001", "ten", "2.5", "-3", "99999999999999"])
def test_a_room_holds_a_whole_number_of_people_from_1_to_1000(capacity):
    errors = errors_of({"name": "Hall", "capacity": capacity}, read_room)
    assert errors["capacity"] in {
        "Capacity must be between 1 and 1,000",
        "Capacity must be a whole number between 1 and 1,000",
    }


def test_a_room_with_no_details_says_what_to_enter():
    assert errors_of({}, read_room) == {
        "name": "Enter the room's name",
        "capacity": "Enter how many people the room holds",
    }


def test_room_features_come_from_ticked_boxes():
    values = read_room({"name": "Hall", "capacity": "40", "hearing_loop": "yes"})
    assert (values["step_free_access"], values["hearing_loop"], values["accessible_toilet"]) == (False, True, False)


def test_reminder_hours_reuse_the_reminder_parser_and_are_stored_largest_first():
    assert read_activity(activity_form(reminder_hours=" 2, 24 ,2"))["reminder_hours"] == "24,2"
    assert read_activity(activity_form(reminder_hours=""))["reminder_hours"] == ""


@pytest.mark.parametrize("hours", ["24,x", "0", "169", "1,2,3,4", "24.5"])
def test_reminder_hours_outside_the_rules_are_refused(hours):
    assert errors_of(activity_form(reminder_hours=hours), read_activity) == {
        "reminder_hours": "Enter up to 3 whole numbers of hours from 1 to 168, separated by commas, like 24,2"
    }


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("0", "Hours to accept an offer must be between 1 and 168"),
        ("169", "Hours to accept an offer must be between 1 and 168"),
        ("abc", "Hours to accept an offer must be a whole number between 1 and 168"),
        ("", "Enter how many hours someone on the waiting list has to accept a place"),
    ],
)
def test_offer_hours_outside_one_hour_to_a_week_are_refused(hours, message):
    assert errors_of(activity_form(offer_hours=hours), read_activity) == {"offer_hours": message}


def test_an_activity_form_checks_category_mode_numbers_and_the_booking_window():
    errors = errors_of(
        activity_form(
            category="juggling",
            waitlist_mode="lottery",
            max_party_size="0",
            booking_opens_days="1",
            booking_closes_hours="24",
            partner="²",
        ),
        read_activity,
    )
    assert errors == {
        "category": "Choose a category",
        "partner": "Choose a partner from the list, or no partner",
        "max_party_size": "Places in one booking must be between 1 and 50",
        "waitlist_mode": "Choose what happens when places free up",
        "booking_closes_hours": "Booking must close less time before a session than it opens",
    }


def test_a_partner_website_must_be_http_or_https_and_the_email_well_formed():
    errors = errors_of(
        {"name": "Trust", "website": "javascript:alert(1)", "contact_email": "not-an-email"}, read_partner
    )
    assert errors == {
        "website": "Enter a web address starting with https:// or http://, like https://www.example.org",
        "contact_email": "Enter an email address in the right format, like name@example.org",
    }
    assert (
        read_partner({"name": "Trust", "website": "https://nhs.example.org/x"})["website"]
        == "https://nhs.example.org/x"
    )


def test_slugs_are_lowercase_ascii_words_joined_by_hyphens():
    assert slugify("St Mary's Hall, Café & Garden", 100) == "st-marys-hall-cafe-garden"


# --- Venues ---------------------------------------------------------------------------------------


async def test_creating_a_venue_makes_a_free_slug_and_records_the_creation(actor):
    name = unique("Chadsmoor Library")
    first = await create_venue(actor, venue_form(name=name))
    second = await create_venue(actor, venue_form(name=name))
    slugs = {
        row["id"]: row["slug"]
        for row in await Venue.select(Venue.id, Venue.slug).where(Venue.id.is_in([first, second]))
    }
    assert slugs[first] == slugify(name, 96)
    assert slugs[second] == f"{slugify(name, 96)}-2"
    [entry] = await audit_entries("venue", first)
    assert entry["action"] == "venue.created"
    assert entry["venue"] == first and entry["staff_member"] == actor.id
    assert json.loads(entry["after"])["postcode"] == "WS11 1DB"


async def test_a_slug_someone_typed_must_be_free(actor):
    venue = await make_venue()
    with pytest.raises(InvalidDetails) as raised:
        await create_venue(actor, venue_form(slug=venue.slug))
    assert raised.value.errors == {"slug": f"The web address name {venue.slug} is already used. Choose another one"}


async def test_changing_a_venue_records_only_the_changed_fields(actor):
    venue_id = await create_venue(actor, venue_form())
    stored = await Venue.select().where(Venue.id == venue_id).first()
    form = {
        key: "" if stored[key] is None else str(stored[key])
        for key in (
            "name",
            "slug",
            "address",
            "postcode",
            "time_zone",
            "phone",
            "opening_hours",
            "accessibility",
            "latitude",
            "longitude",
        )
    }
    await update_venue(actor, venue_id, form)  # nothing changed: no entry
    await update_venue(actor, venue_id, {**form, "phone": "01543 999999"})
    entries = await audit_entries("venue", venue_id)
    assert [entry["action"] for entry in entries] == ["venue.created", "venue.updated"]
    assert json.loads(entries[1]["before"]) == {"phone": "01543 123456"}
    assert json.loads(entries[1]["after"]) == {"phone": "01543 999999"}


async def test_archiving_a_venue_waits_for_its_upcoming_sessions_then_hides_it(actor):
    venue = await make_venue()
    room = await make_room(venue)
    session = await make_session(room=room)
    await make_session(room=room, starts_in=timedelta(days=-3))  # over: does not count
    await make_session(room=room, status=SessionStatus.CANCELLED)  # cancelled: does not count
    with pytest.raises(StillInUse) as raised:
        await set_venue_archived(actor, venue.id, True)
    assert raised.value.message == (
        f"{venue.name} has 1 upcoming session. Move or cancel it before you archive the venue."
    )
    await Session.update({Session.status: SessionStatus.CANCELLED.value}).where(Session.id == session.id)
    assert await set_venue_archived(actor, venue.id, True) is True
    assert await set_venue_archived(actor, venue.id, True) is False  # already archived: no second entry
    assert await get_venue_page(venue.slug) is None
    assert venue.slug not in dict(await list_venue_choices())
    assert [entry["action"] for entry in await audit_entries("venue", venue.id)] == ["venue.archived"]
    assert await set_venue_archived(actor, venue.id, False) is True
    assert await get_venue_page(venue.slug) is not None


# --- Rooms ----------------------------------------------------------------------------------------


async def test_adding_a_room_records_it_against_the_venue(actor):
    venue = await make_venue()
    room_id = await create_room(actor, venue.id, {"name": "Studio", "capacity": "25", "step_free_access": "yes"})
    room = await Room.select().where(Room.id == room_id).first()
    assert (room["venue"], room["capacity"], room["step_free_access"]) == (venue.id, 25, True)
    [entry] = await audit_entries("room", room_id)
    assert (entry["action"], entry["venue"]) == ("room.created", venue.id)
    with pytest.raises(InvalidDetails) as raised:
        await create_room(actor, venue.id, {"name": "Studio", "capacity": "5"})
    assert raised.value.errors == {"name": "This venue already has a room called Studio. Give this room another name"}


async def test_a_room_cannot_shrink_below_an_upcoming_session_in_it(actor):
    room = await make_room(capacity=30)
    activity = await make_activity(title="Chair yoga")
    await make_session(capacity=20, room=room, activity=activity)
    await make_session(capacity=25, room=room, activity=activity, starts_in=timedelta(days=-2))  # over
    with pytest.raises(InvalidDetails) as raised:
        await update_room(actor, room.id, {"name": room.name, "capacity": "15"})
    message = raised.value.errors["capacity"]
    assert message.startswith(
        "The room cannot hold fewer people than an upcoming session in it has places: Chair yoga, "
    )
    assert "(20 places)" in message and "25 places" not in message
    stored = await Room.select(Room.capacity).where(Room.id == room.id).first()
    assert stored["capacity"] == 30  # the refused change was rolled back
    assert await audit_entries("room", room.id) == []
    await update_room(actor, room.id, {"name": room.name, "capacity": "20"})
    [entry] = await audit_entries("room", room.id)
    assert (json.loads(entry["before"]), json.loads(entry["after"])) == ({"capacity": 30}, {"capacity": 20})


async def test_archiving_a_room_waits_for_its_upcoming_sessions(actor):
    room = await make_room()
    await make_session(room=room, starts_in=timedelta(hours=3))
    with pytest.raises(StillInUse) as raised:
        await set_room_archived(actor, room.id, True)
    assert "has 1 upcoming session. Move or cancel it" in raised.value.message
    empty_room = await make_room()
    assert await set_room_archived(actor, empty_room.id, True) is True
    [entry] = await audit_entries("room", empty_room.id)
    assert (entry["action"], entry["venue"]) == ("room.archived", empty_room.venue)


# --- Activities and partners ------------------------------------------------------------------------


async def test_creating_an_activity_stores_its_defaults_rules_and_partner(actor):
    partner_id = await create_partner(actor, {"name": unique("Staffordshire Libraries")})
    activity_id = await create_activity(actor, activity_form(partner=str(partner_id)))
    row = await Activity.select().where(Activity.id == activity_id).first()
    assert (
        row["partner"],
        row["default_capacity"],
        row["default_duration_minutes"],
        row["reminder_hours"],
        row["waitlist_mode"],
        row["max_active_bookings"],
    ) == (partner_id, 15, 90, "24,2", "automatic", 1)
    [entry] = await audit_entries("activity", activity_id)
    assert entry["action"] == "activity.created" and entry["venue"] is None


async def test_an_activitys_offer_hours_are_saved_and_their_change_audited(actor):
    activity_id = await create_activity(actor, activity_form(offer_hours="6"))
    assert (await Activity.select(Activity.offer_hours).where(Activity.id == activity_id).first())["offer_hours"] == 6
    [created] = await audit_entries("activity", activity_id)
    assert json.loads(created["after"])["offer_hours"] == 6
    title = (await Activity.select(Activity.title).where(Activity.id == activity_id).first())["title"]
    await update_activity(actor, activity_id, activity_form(title=title, offer_hours="48"))
    assert (await Activity.select(Activity.offer_hours).where(Activity.id == activity_id).first())["offer_hours"] == 48
    updated = (await audit_entries("activity", activity_id))[-1]
    assert updated["action"] == "activity.updated"
    assert (json.loads(updated["before"]), json.loads(updated["after"])) == ({"offer_hours": 6}, {"offer_hours": 48})


async def test_an_archived_partner_cannot_be_chosen_but_an_activity_keeps_its_own(actor):
    partner_id = await create_partner(actor, {"name": unique("Job Centre")})
    activity_id = await create_activity(actor, activity_form(partner=str(partner_id)))
    await set_partner_archived(actor, partner_id, True)
    with pytest.raises(InvalidDetails) as raised:
        await create_activity(actor, activity_form(partner=str(partner_id)))
    assert raised.value.errors == {"partner": "Choose a partner from the list, or no partner"}
    title = unique("Job club")  # unique: the shared test database also holds the demo's "job-club"
    await update_activity(actor, activity_id, activity_form(partner=str(partner_id), title=title))
    assert (await Activity.select(Activity.title).where(Activity.id == activity_id).first())["title"] == title
    with pytest.raises(InvalidDetails):
        await create_activity(actor, activity_form(partner="2147483000"))


async def test_archiving_an_activity_waits_for_its_upcoming_sessions(actor):
    session = await make_session()
    with pytest.raises(StillInUse):
        await set_activity_archived(actor, session.activity, True)
    activity = await make_activity()
    assert await set_activity_archived(actor, activity.id, True) is True
    assert [entry["action"] for entry in await audit_entries("activity", activity.id)] == ["activity.archived"]


async def test_partner_names_are_unique_among_live_partners(actor):
    name = unique("Citizens Advice")
    first = await create_partner(actor, {"name": name, "website": "https://ca.example.org"})
    with pytest.raises(InvalidDetails) as raised:
        await create_partner(actor, {"name": name.upper()})
    assert raised.value.errors == {
        "name": f"There is already a partner called {name.upper()}. Use that one, or archive it first"
    }
    await set_partner_archived(actor, first, True)
    second = await create_partner(actor, {"name": name})
    with pytest.raises(InvalidDetails):
        await set_partner_archived(actor, first, False)  # its name is taken again now
    await update_partner(actor, second, {"name": name, "phone": "0300 123 4567"})
    actions = [entry["action"] for entry in await audit_entries("partner", second)]
    assert actions == ["partner.created", "partner.updated"]
    assert (await Partner.select(Partner.phone).where(Partner.id == second).first())["phone"] == "0300 123 4567"
