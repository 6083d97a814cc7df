"""The programme pages: one-off sessions and series through plain forms, room clashes named with suggestions."""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from booking.programme import schedule_session
from booking.series import Frequency, Repeat, create_series, local_instant
from booking.tables import AuditEntry, Series, Session
from tests.builders import fill_session, make_activity, make_room, make_session
from tests.web.staff.support import post_form

LONDON = "Europe/London"


def in_days(days: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).date().isoformat()


async def craft_club(room, days: int = 10) -> int:
    """Craft club in ``room`` from 2pm to 4pm, ``days`` from today."""
    activity = await make_activity(title="Craft club")
    starts_at = local_instant(datetime.fromisoformat(in_days(days)).date(), time(14), LONDON)
    return await schedule_session(activity.id, room.id, starts_at, starts_at + timedelta(hours=2), 10)


def error_summary(page_text: str) -> str:
    """The text of the page's error summary (empty if it has none)."""
    found = re.search(r'<div class="error-summary".*?</div>', page_text, re.S)
    return html.unescape(found[0]) if found else ""


def form(activity, room, **overrides) -> dict:
    return {"activity_id": str(activity.id), "room_id": str(room.id), "date": in_days(10), "start": "15:00",
            "end": "16:00", "capacity": "8", "setup_minutes": "0", "cleardown_minutes": "0", **overrides}


async def test_a_one_off_session_is_scheduled_and_audited(as_coordinator, own_venue, coordinator):
    room, activity = await make_room(own_venue, capacity=20), await make_activity(title="Chess club")
    page = f"/staff/venues/{own_venue.id}/sessions/new"

    response = await post_form(as_coordinator, page, form(activity, room), page=page)

    assert response.status_code == 303
    session_id = int(re.search(r"/staff/sessions/(\d+)", response.headers["location"])[1])
    row = await Session.select(Session.room, Session.capacity).where(Session.id == session_id).first()
    assert row == {"room": room.id, "capacity": 8}
    assert await AuditEntry.count().where(
        (AuditEntry.subject_type == "session") & (AuditEntry.subject_id == session_id)
        & (AuditEntry.staff_member == coordinator.id)
    ) == 1
    detail = await as_coordinator.get(response.headers["location"])
    assert "Chess club" in detail.text and "The session is in the programme." in detail.text


async def test_a_clash_is_named_with_a_link_and_suggestions_that_fill_the_form(as_coordinator, own_venue):
    room = await make_room(own_venue, capacity=20, name="Community room")
    await make_room(own_venue, capacity=20, name="Meeting room 2")
    craft_id = await craft_club(room)
    activity = await make_activity()
    page = f"/staff/venues/{own_venue.id}/sessions/new"

    response = await post_form(as_coordinator, page, form(activity, room), page=page)

    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Craft club is in Community room from 2pm to 4pm on" in text
    assert "The room is free from 4pm, or try Meeting room 2." in text
    assert f'href="/staff/sessions/{craft_id}"' in text
    assert 'value="15:00"' in text  # the input is kept
    suggestion = html.unescape(re.search(r'href="([^"]+)">Use 4pm on', response.text)[1])
    filled = await as_coordinator.get(suggestion)
    assert filled.status_code == 200
    assert 'value="16:00"' in filled.text and 'value="17:00"' in filled.text
    assert "We have filled in the suggestion." in filled.text
    assert await Session.count().where(Session.activity == activity.id) == 0


async def test_bad_input_is_shown_again_with_messages(as_coordinator, own_venue, other_venue):
    page = f"/staff/venues/{own_venue.id}/sessions/new"
    theirs = await make_room(other_venue, capacity=20)
    activity = await make_activity()

    empty = await post_form(as_coordinator, page, {}, page=page)
    wrong = await post_form(
        as_coordinator, page,
        form(activity, theirs, date="31/02/2027", start="25:00", capacity="lots", setup_minutes="999"), page=page,
    )
    huge = await post_form(as_coordinator, page, {"activity_id": "99999999999", "room_id": "99999999999"}, page=page)

    assert empty.status_code == wrong.status_code == huge.status_code == 422
    assert "Choose an activity" in empty.text and "Choose a room" in empty.text
    text = html.unescape(wrong.text)
    assert "Choose one of this venue's rooms" in text
    assert "Enter the date as a real date" in text
    assert "Enter the start time as a time on the 24-hour clock" in text
    assert "The number of places must be a whole number" in text
    assert "The set-up time must be a whole number from 0 to 240" in text
    assert 'value="lots"' in text
    assert await Session.count().where(Session.room == theirs.id) == 0


async def test_another_venues_pages_are_refused(as_coordinator, other_venue):
    session = await make_session(room=await make_room(other_venue))

    assert (await as_coordinator.get(f"/staff/venues/{other_venue.id}/sessions/new")).status_code == 403
    assert (await as_coordinator.get(f"/staff/sessions/{session.id}/edit")).status_code == 403
    assert (await as_coordinator.get("/staff/sessions/99999999999")).status_code == 404


async def test_volunteers_cannot_change_the_programme(as_volunteer, own_venue):
    assert (await as_volunteer.get("/staff/programme")).status_code == 403
    assert (await as_volunteer.get(f"/staff/venues/{own_venue.id}/sessions/new")).status_code == 403


async def test_a_clashing_series_lists_every_date_and_skipping_them_creates_it(as_coordinator, own_venue):
    room = await make_room(own_venue, capacity=20, name="Community room")
    craft_id = await craft_club(room, days=17)
    activity = await make_activity(title="Knit and natter")
    page = f"/staff/venues/{own_venue.id}/series/new"
    answers = form(activity, room, frequency="weekly", count="4")

    refused = await post_form(as_coordinator, page, answers, page=page)

    assert refused.status_code == 422
    assert "1 date clashes with sessions already in the room" in html.unescape(refused.text)
    assert f'href="/staff/sessions/{craft_id}"' in refused.text
    skip_day = in_days(17)
    assert f'name="skip-{skip_day}"' in refused.text
    assert await Series.count().where(Series.activity == activity.id) == 0

    created = await post_form(as_coordinator, page, {**answers, f"skip-{skip_day}": "yes"}, page=page)

    assert created.status_code == 303
    series_page = await as_coordinator.get(created.headers["location"])
    assert "Every " in series_page.text and series_page.text.count("/staff/sessions/") == 3


async def test_editing_and_cancelling_a_session(as_coordinator, own_venue):
    room, other_room = await make_room(own_venue, capacity=20), await make_room(own_venue, capacity=20, name="Hall")
    activity = await make_activity()
    session = await make_session(room=room, activity=activity, starts_in=timedelta(days=5))
    edit = f"/staff/sessions/{session.id}/edit"

    empty = await post_form(as_coordinator, edit, {}, page=edit)
    changed = await post_form(
        as_coordinator, edit, {"room_id": str(other_room.id), "date": in_days(6), "start": "11:00", "end": "12:30",
                               "capacity": "9", "setup_minutes": "10", "cleardown_minutes": "0"}, page=edit,
    )
    cancel = f"/staff/sessions/{session.id}/cancel"
    cancelled = await post_form(as_coordinator, cancel, {"message": "Sorry, the room flooded."}, page=cancel)
    again = await post_form(as_coordinator, cancel, {}, page=f"/staff/sessions/{session.id}")

    assert empty.status_code == 422
    assert changed.status_code == 303 and cancelled.status_code == 303
    row = await Session.select().where(Session.id == session.id).first()
    assert (row["room"], row["capacity"], row["setup_minutes"], row["status"]) == (other_room.id, 9, 10, "cancelled")
    assert again.status_code == 422 and "already been cancelled" in again.text


async def test_the_programme_lists_the_weeks_sessions_of_the_users_venues_only(as_coordinator, own_venue, other_venue):
    ours = await make_session(room=await make_room(own_venue), activity=await make_activity(title="Our yoga"),
                              starts_in=timedelta(days=1))
    await make_session(room=await make_room(other_venue), activity=await make_activity(title="Their yoga"),
                       starts_in=timedelta(days=1))

    response = await as_coordinator.get(f"/staff/programme?week={in_days(1)}")

    assert response.status_code == 200
    assert f'href="/staff/sessions/{ours.id}"' in response.text
    assert "Their yoga" not in response.text


async def test_an_empty_series_form_is_refused_with_messages(as_coordinator, own_venue):
    page = f"/staff/venues/{own_venue.id}/series/new"

    response = await post_form(as_coordinator, page, {}, page=page)

    assert response.status_code == 422
    assert "Choose how often the session repeats" in response.text
    assert "Enter the number of sessions, or the date of the last one" in response.text


async def test_changing_this_and_the_later_sessions_of_a_series(as_coordinator, own_venue):
    room = await make_room(own_venue, capacity=20)
    activity = await make_activity(title="Book group")
    page = f"/staff/venues/{own_venue.id}/series/new"
    created = await post_form(as_coordinator, page, form(activity, room, frequency="fortnightly", count="3"), page=page)
    series_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    ids = [r["id"] for r in await Session.select(Session.id).where(Session.series == series_id).order_by(Session.starts_at)]
    edit = f"/staff/sessions/{ids[1]}/edit"
    shown = await as_coordinator.get(edit)
    assert "This session and the later ones in the series" in shown.text

    no_scope = await post_form(as_coordinator, edit, {"date": in_days(24), "start": "18:00", "end": "19:00",
                                                      "room_id": str(room.id), "capacity": "8"}, page=edit)
    moved = await post_form(as_coordinator, edit, {"date": in_days(24), "start": "18:00", "end": "19:00",
                                                   "room_id": str(room.id), "capacity": "8", "scope": "following"}, page=edit)

    assert no_scope.status_code == 422 and moved.status_code == 303
    rows = await Session.select(Session.id, Session.starts_at).where(Session.series == series_id).order_by(Session.starts_at)
    local_times = [r["starts_at"].astimezone(ZoneInfo(LONDON)).strftime("%H:%M") for r in rows]
    assert local_times == ["15:00", "18:00", "18:00"]


async def test_two_coordinators_submitting_overlapping_sessions_at_once_one_succeeds(
    db, data_dir, own_venue, coordinator
):
    """Two browsers, each signed in as a coordinator of the venue, press "Schedule session" at the same moment."""
    import asyncio

    from tests.web.conftest import browser, web_settings
    from tests.web.staff.support import make_staff, sign_in, staff_csrf

    room, activity = await make_room(own_venue, capacity=20), await make_activity(title="Chess club")
    second = await make_staff("coordinator", [own_venue])
    page = f"/staff/venues/{own_venue.id}/sessions/new"
    async with browser(web_settings(db, data_dir)) as first_client, browser(web_settings(db, data_dir)) as second_client:
        tokens = []
        for client, member in ((first_client, coordinator), (second_client, second)):
            await sign_in(client, member)
            tokens.append(await staff_csrf(client, page))
        for days in range(30, 35):  # several rounds, each a new time in the same room
            first, second_response = await asyncio.gather(
                first_client.post(page, data={**form(activity, room, date=in_days(days)), "_csrf_token": tokens[0]}),
                second_client.post(
                    page, data={**form(activity, room, date=in_days(days), start="15:30", end="16:30"),
                                "_csrf_token": tokens[1]},
                ),
            )
            assert sorted([first.status_code, second_response.status_code]) == [303, 422]
            loser = first if first.status_code == 422 else second_response
            assert "Chess club is in Community room" in html.unescape(loser.text)
        assert await Session.count().where(Session.room == room.id) == 5


async def test_changing_the_buffers_of_this_and_the_later_sessions_checks_the_room(as_coordinator, own_venue):
    room = await make_room(own_venue, capacity=20, name="Community room")
    activity = await make_activity(title="Book group")
    first = datetime.fromisoformat(in_days(10)).date()
    created = await create_series(activity.id, room.id, first, time(16), 60, 8, Repeat(Frequency.WEEKLY, count=3))
    craft_id = await craft_club(room, days=24)  # 2pm to 4pm on the third date: back to back, until set-up time counts
    edit = f"/staff/sessions/{created.session_ids[0]}/edit"
    answers = {"date": in_days(10), "start": "16:00", "end": "17:00", "room_id": str(room.id), "capacity": "8",
               "scope": "following", "cleardown_minutes": "10"}

    refused = await post_form(as_coordinator, edit, {**answers, "setup_minutes": "30"}, page=edit)

    assert refused.status_code == 422
    assert "1 date clashes with sessions already in the room. Nothing has been changed." in error_summary(refused.text)
    assert "Craft club is in Community room from 2pm to 4pm on" in html.unescape(refused.text)
    assert 'value="30"' in refused.text  # the input is kept
    buffers = Session.select(Session.setup_minutes, Session.cleardown_minutes).where(
        Session.series == created.series_id
    ).order_by(Session.starts_at)
    assert await buffers == [{"setup_minutes": 0, "cleardown_minutes": 0}] * 3
    assert (await Session.select(Session.status).where(Session.id == craft_id).first())["status"] == "scheduled"

    changed = await post_form(as_coordinator, edit, {**answers, "setup_minutes": "0", "cleardown_minutes": "45"}, page=edit)

    assert changed.status_code == 303
    assert await buffers == [{"setup_minutes": 0, "cleardown_minutes": 45}] * 3
    detail = await as_coordinator.get(changed.headers["location"])
    assert "This session and the later ones in the series have been changed." in detail.text


async def test_lowering_the_places_below_those_booked_is_refused_in_the_error_summary(as_coordinator, own_venue):
    room, activity = await make_room(own_venue, capacity=20), await make_activity(max_party_size=1)
    starts_at = local_instant(datetime.fromisoformat(in_days(5)).date(), time(11), LONDON)
    session_id = await schedule_session(activity.id, room.id, starts_at, starts_at + timedelta(hours=1), 10)
    await fill_session(session_id, 3)
    edit = f"/staff/sessions/{session_id}/edit"

    response = await post_form(as_coordinator, edit, {"date": in_days(5), "start": "11:00", "end": "12:00",
                                                      "room_id": str(room.id), "capacity": "2", "setup_minutes": "0",
                                                      "cleardown_minutes": "0"}, page=edit)

    assert response.status_code == 422
    assert "3 places are booked, so the capacity cannot be less than 3." in error_summary(response.text)
    assert re.search(r'id="capacity" name="capacity" type="text" value="2"', response.text)  # the input is kept
    row = await Session.select(Session.capacity, Session.booked).where(Session.id == session_id).first()
    assert row == {"capacity": 10, "booked": 3}
