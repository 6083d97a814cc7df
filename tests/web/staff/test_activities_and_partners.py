"""Activity and partner pages: who may use them, forms that keep what was typed, archiving, and the audit entry."""

from __future__ import annotations

import html

import pytest

from booking.states import ActivityCategory
from booking.tables import Activity, Partner
from tests.builders import make_activity, make_session, unique
from tests.web.staff.support import latest_audit, post_form


def activity_data(**changes) -> dict[str, str]:
    data = {
        "title": unique("Digital drop-in"),
        "category": ActivityCategory.DIGITAL_SKILLS.value,
        "description": "Help with phones and tablets.",
        "partner": "",
        "default_capacity": "8",
        "default_duration_minutes": "120",
        "max_party_size": "1",
        "booking_opens_days": "7",
        "booking_closes_hours": "0",
        "max_active_bookings": "0",
        "waitlist_mode": "offer",
        "offer_hours": "12",
        "reminder_hours": "24",
    }
    return {**data, **changes}


async def test_a_coordinator_adds_an_activity_with_its_rules_and_an_audit_entry(as_coordinator, coordinator):
    form_page = await as_coordinator.get("/staff/activities/new")
    assert form_page.status_code == 200
    assert 'value="24,2"' in form_page.text  # the table's defaults to start from
    data = activity_data()
    response = await post_form(as_coordinator, "/staff/activities/new", data, page="/staff/activities/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/activities?notice=created"
    row = await Activity.select().where(Activity.title == data["title"]).first()
    assert (row["default_duration_minutes"], row["booking_closes_hours"], row["partner"]) == (120, 0, None)
    listing = await as_coordinator.get(response.headers["location"])
    assert "Added." in listing.text and html.escape(data["title"]) in listing.text
    entry = await latest_audit("activity", row["id"])
    assert (entry["action"], entry["staff_member"]) == ("activity.created", coordinator.id)


async def test_a_wrong_activity_form_keeps_the_input_and_says_what_is_wrong(as_coordinator):
    data = activity_data(title="", default_capacity="lots", reminder_hours="every day", category="boxing")
    response = await post_form(as_coordinator, "/staff/activities/new", data, page="/staff/activities/new")
    assert response.status_code == 422
    assert '<a href="#title">Enter the activity&#39;s title</a>' in response.text
    assert "Places must be a whole number between 1 and 1,000" in response.text
    assert "Choose a category" in response.text
    assert 'value="every day"' in response.text and 'value="lots"' in response.text
    assert 'value="offer" checked' in response.text  # the radio the user chose stays chosen


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("0", "Hours to accept an offer must be between 1 and 168"),
        ("169", "Hours to accept an offer must be between 1 and 168"),
        ("abc", "Hours to accept an offer must be a whole number between 1 and 168"),
    ],
)
async def test_offer_hours_outside_the_limits_are_refused_with_the_input_kept(as_coordinator, hours, message):
    activity = await make_activity(title="Coffee morning")
    data = activity_data(title="Coffee morning", slug=activity.slug, partner=str(activity.partner), offer_hours=hours)
    response = await post_form(as_coordinator, f"/staff/activities/{activity.id}/edit", data, page="/staff/activities")
    assert response.status_code == 422
    assert f'<a href="#offer_hours">{message}</a>' in response.text  # in the error summary
    assert f'id="offer_hours" name="offer_hours" type="text" value="{hours}"' in response.text
    assert (await Activity.select(Activity.offer_hours).where(Activity.id == activity.id).first())["offer_hours"] == 12


async def test_the_offer_hours_are_shown_and_saved_with_the_waiting_list_mode(as_coordinator):
    new_page = await as_coordinator.get("/staff/activities/new")
    assert 'id="offer_hours" name="offer_hours" type="text" value="12"' in new_page.text  # the default
    activity = await make_activity(offer_hours=30)
    form_page = await as_coordinator.get(f"/staff/activities/{activity.id}/edit")
    assert 'id="offer_hours" name="offer_hours" type="text" value="30"' in form_page.text
    data = activity_data(title=activity.title, slug=activity.slug, partner=str(activity.partner), offer_hours="6")
    response = await post_form(as_coordinator, f"/staff/activities/{activity.id}/edit", data, page="/staff/activities")
    assert response.status_code == 303
    assert (await Activity.select(Activity.offer_hours).where(Activity.id == activity.id).first())["offer_hours"] == 6
    entry = await latest_audit("activity", activity.id)
    assert '"offer_hours": 30' in entry["before"] and '"offer_hours": 6' in entry["after"]


async def test_changing_and_archiving_an_activity(as_coordinator):
    activity = await make_activity(title="Chess club")
    form_page = await as_coordinator.get(f"/staff/activities/{activity.id}/edit")
    assert form_page.status_code == 200 and 'value="Chess club"' in form_page.text
    data = activity_data(title="Chess and draughts", slug=activity.slug, partner=str(activity.partner))
    response = await post_form(as_coordinator, f"/staff/activities/{activity.id}/edit", data, page="/staff/activities")
    assert response.status_code == 303
    entry = await latest_audit("activity", activity.id)
    assert entry["action"] == "activity.updated" and '"title": "Chess club"' in entry["before"]
    response = await post_form(as_coordinator, f"/staff/activities/{activity.id}/archive", page="/staff/activities")
    assert response.status_code == 303
    page = await as_coordinator.get(response.headers["location"])
    assert "Archived. Residents no longer see it." in page.text and "Bring back" in page.text


async def test_archiving_an_activity_with_upcoming_sessions_is_refused(as_coordinator):
    session = await make_session()
    response = await post_form(
        as_coordinator, f"/staff/activities/{session.activity}/archive", page="/staff/activities"
    )
    assert response.status_code == 409
    assert "has 1 upcoming session. Move or cancel it before you archive the activity." in response.text
    assert not (await Activity.select(Activity.archived).where(Activity.id == session.activity).first())["archived"]


async def test_volunteers_cannot_use_activity_or_partner_pages(as_volunteer):
    activity = await make_activity()
    for path in (
        "/staff/activities",
        "/staff/activities/new",
        f"/staff/activities/{activity.id}/edit",
        "/staff/partners",
        "/staff/partners/new",
        f"/staff/partners/{activity.partner}/edit",
    ):
        assert (await as_volunteer.get(path)).status_code == 403, path
    response = await post_form(as_volunteer, "/staff/activities/new", activity_data())
    assert response.status_code == 403


async def test_partners_are_for_admins_only(as_coordinator):
    activity = await make_activity()
    assert (await as_coordinator.get("/staff/partners")).status_code == 403
    response = await post_form(as_coordinator, f"/staff/partners/{activity.partner}/archive", page="/staff/activities")
    assert response.status_code == 403
    assert not (await Partner.select(Partner.archived).where(Partner.id == activity.partner).first())["archived"]


async def test_an_admin_adds_changes_and_archives_a_partner(as_admin, admin):
    name = unique("Age UK")
    response = await post_form(
        as_admin,
        "/staff/partners/new",
        {"name": name, "website": "https://www.ageuk.example.org", "contact_email": "hi@ageuk.example.org"},
        page="/staff/partners/new",
    )
    assert response.status_code == 303
    partner = await Partner.select().where(Partner.name == name).first()
    assert (await latest_audit("partner", partner["id"]))["staff_member"] == admin.id
    response = await post_form(
        as_admin,
        f"/staff/partners/{partner['id']}/edit",
        {"name": name, "website": "ftp://old.example.org"},
        page="/staff/partners",
    )
    assert response.status_code == 422
    assert "Enter a web address starting with https:// or http://" in response.text
    assert 'value="ftp://old.example.org"' in response.text
    response = await post_form(as_admin, f"/staff/partners/{partner['id']}/archive", page="/staff/partners")
    assert response.status_code == 303
    assert (await latest_audit("partner", partner["id"]))["action"] == "partner.archived"
    form_page = await as_admin.get("/staff/activities/new")
    assert f'value="{partner["id"]}"' not in form_page.text  # an archived partner is no longer a choice


async def test_a_duplicate_partner_name_is_refused_with_the_input_kept(as_admin):
    name = unique("Mind")
    await post_form(as_admin, "/staff/partners/new", {"name": name}, page="/staff/partners/new")
    response = await post_form(
        as_admin, "/staff/partners/new", {"name": name, "phone": "0300 123 3393"}, page="/staff/partners/new"
    )
    assert response.status_code == 422
    assert f"There is already a partner called {name}" in response.text
    assert 'value="0300 123 3393"' in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/staff/activities/99999999999/edit",
        "/staff/partners/99999999999/edit",
        "/staff/activities/2147483000/edit",
        "/staff/partners/2147483000/edit",
    ],
)
async def test_ids_that_name_nothing_are_refused_without_a_server_error(as_admin, path):
    assert (await as_admin.get(path)).status_code in (400, 404)
    assert (await post_form(as_admin, path, page="/staff/activities")).status_code in (400, 404)


async def test_an_empty_post_to_any_activity_or_partner_form_is_never_a_server_error(as_admin):
    activity = await make_activity()
    paths = [
        "/staff/activities/new",
        f"/staff/activities/{activity.id}/edit",
        f"/staff/activities/{activity.id}/archive",
        f"/staff/activities/{activity.id}/unarchive",
        "/staff/partners/new",
        f"/staff/partners/{activity.partner}/edit",
        f"/staff/partners/{activity.partner}/archive",
        f"/staff/partners/{activity.partner}/unarchive",
    ]
    for path in paths:
        response = await post_form(as_admin, path, page="/staff/activities")
        assert response.status_code in (303, 422), (path, response.status_code)
