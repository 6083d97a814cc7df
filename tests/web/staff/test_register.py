"""The register pages over HTTP: plain forms without JavaScript, htmx row swaps, 422s that keep the input,
and venue checks on every route."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from booking.clock import FixedClock
from booking.service import book_place, cancel_booking
from booking.states import BookingSource
from booking.tables import Booking, Session, WaitlistEntry
from booking.validation import ResidentDetails
from booking.waitlist import join_waitlist
from tests.builders import make_room, make_session, resident, unique
from tests.web.staff.support import post_form

HX = {"HX-Request": "true"}


async def session_at(venue, capacity: int = 5, starts_in: timedelta = timedelta(minutes=30)):
    return await make_session(capacity, starts_in=starts_in, room=await make_room(venue))


async def phoned_in(session, name: str = "Ada Lovelace", places: int = 1, note: str = ""):
    details = ResidentDetails(name, f"{unique('r')}@example.org")
    return await book_place(session.id, details, places, source=BookingSource.PHONE, support_note=note)


def register(session) -> str:
    return f"/staff/sessions/{session.id}/register"


async def attendance(booking_id: int) -> str:
    return (await Booking.select(Booking.attendance).where(Booking.id == booking_id).first())["attendance"]


# --- the register ------------------------------------------------------------------------------


async def test_the_register_shows_each_booking_with_attendance_buttons(as_volunteer, own_venue):
    session = await session_at(own_venue)
    booking = await phoned_in(session, "Ada Lovelace", 2, "Needs a chair with arms")
    response = await as_volunteer.get(register(session))
    assert response.status_code == 200
    page = response.text
    assert "<h1>Register: Chair yoga</h1>" in page
    assert "Ada Lovelace" in page and "Needs a chair with arms" in page and booking.reference in page
    assert f'action="/staff/bookings/{booking.booking_id}/attendance"' in page
    assert f'hx-post="/staff/bookings/{booking.booking_id}/attendance"' in page
    assert 'value="attended"' in page and 'value="no_show"' in page
    assert "0 of 1 marked" in page
    assert response.headers["cache-control"] == "no-store"


async def test_a_tick_without_javascript_posts_and_comes_back_to_the_register(as_volunteer, own_venue):
    session = await session_at(own_venue)
    booking = await phoned_in(session)
    response = await post_form(as_volunteer, f"/staff/bookings/{booking.booking_id}/attendance",
                               {"attendance": "attended"}, page=register(session))
    assert response.status_code == 303
    assert response.headers["location"] == f"{register(session)}#booking-{booking.booking_id}"
    assert await attendance(booking.booking_id) == "attended"
    assert "1 of 1 marked" in (await as_volunteer.get(register(session))).text


async def test_an_htmx_tick_gets_just_its_row_and_the_count(as_volunteer, own_venue):
    session = await session_at(own_venue)
    booking = await phoned_in(session)
    await phoned_in(session, "Grace Hopper")
    response = await post_form(as_volunteer, f"/staff/bookings/{booking.booking_id}/attendance",
                               {"attendance": "no_show"}, page=register(session), headers=HX)
    assert response.status_code == 200
    body = response.text.strip()
    assert body.startswith(f'<tr id="booking-{booking.booking_id}"') and "<html" not in body
    assert "No-show" in body and "data-focus-after-swap" in body
    assert re.search(r'<p id="register-count"[^>]*hx-swap-oob="true"[^>]*>1 of 2 marked', body)
    assert await attendance(booking.booking_id) == "no_show"


async def test_a_failed_tick_shows_its_error_in_the_row_and_keeps_the_buttons(as_volunteer, own_venue):
    session = await session_at(own_venue)
    booking = await phoned_in(session)
    token_page = register(session)
    await cancel_booking(booking.reference, authorised=True)
    response = await post_form(as_volunteer, f"/staff/bookings/{booking.booking_id}/attendance",
                               {"attendance": "attended"}, page=token_page, headers=HX)
    assert response.status_code == 409
    assert "This booking has been cancelled" in response.text and 'role="alert"' in response.text
    plain = await post_form(as_volunteer, f"/staff/bookings/{booking.booking_id}/attendance",
                            {"attendance": "attended"}, page=token_page)
    assert plain.status_code == 409 and "There is a problem" in plain.text


async def test_an_empty_tick_is_a_422_with_a_message(as_volunteer, own_venue):
    session = await session_at(own_venue)
    booking = await phoned_in(session)
    plain = await post_form(as_volunteer, f"/staff/bookings/{booking.booking_id}/attendance", page=register(session))
    assert plain.status_code == 422 and "Choose Attended or No-show" in plain.text
    htmx = await post_form(as_volunteer, f"/staff/bookings/{booking.booking_id}/attendance", page=register(session),
                           headers=HX)
    assert htmx.status_code == 422 and htmx.text.strip().startswith("<tr")
    assert await attendance(booking.booking_id) == "unmarked"


async def test_attendance_before_the_register_opens_is_refused(as_volunteer, own_venue):
    session = await session_at(own_venue, starts_in=timedelta(days=3))
    booking = await phoned_in(session)
    page = (await as_volunteer.get(register(session))).text
    assert "You can mark attendance and add walk-ins from" in page
    assert f'action="/staff/bookings/{booking.booking_id}/attendance"' not in page
    response = await post_form(as_volunteer, f"/staff/bookings/{booking.booking_id}/attendance",
                               {"attendance": "attended"}, page=register(session))
    assert response.status_code == 409 and "The register opens 1 hour before" in response.text


async def test_the_print_view_has_names_places_notes_and_tick_boxes(as_volunteer, own_venue):
    session = await session_at(own_venue)
    await phoned_in(session, "Mary Seacole", 3, "Hard of hearing")
    response = await as_volunteer.get(f"{register(session)}/print")
    assert response.status_code == 200
    assert "Mary Seacole" in response.text and "Hard of hearing" in response.text
    assert 'class="tick-box"' in response.text and 'class="no-print"' in response.text


# --- walk-ins ----------------------------------------------------------------------------------


async def test_a_walk_in_is_added_without_contact_details(as_volunteer, own_venue, volunteer):
    session = await session_at(own_venue, starts_in=timedelta(minutes=-5))
    form_url = f"/staff/sessions/{session.id}/walk-in"
    assert (await as_volunteer.get(form_url)).status_code == 200
    response = await post_form(as_volunteer, form_url, {"name": "Grace Hopper", "party_size": "2"}, page=form_url)
    assert response.status_code == 303 and response.headers["location"] == register(session) + "?notice=walk-in"
    row = await Booking.select(Booking.source, Booking.attendance, Booking.booked_by).where(
        Booking.session == session.id).first()
    assert row == {"source": "walk_in", "attendance": "attended", "booked_by": volunteer.id}
    assert "The walk-in has been added" in (await as_volunteer.get(response.headers["location"])).text


async def test_a_bad_walk_in_is_a_422_that_keeps_the_input(as_volunteer, own_venue):
    session = await session_at(own_venue)
    form_url = f"/staff/sessions/{session.id}/walk-in"
    empty = await post_form(as_volunteer, form_url, page=form_url)
    assert empty.status_code == 422 and "Enter their name" in empty.text
    bad = await post_form(as_volunteer, form_url, {"name": "Grace Hopper", "party_size": "lots"}, page=form_url)
    assert bad.status_code == 422
    assert 'value="Grace Hopper"' in bad.text and 'value="lots"' in bad.text and 'class="error-summary"' in bad.text


async def test_a_walk_in_for_a_full_session_is_refused(as_volunteer, own_venue):
    session = await session_at(own_venue, capacity=1)
    await phoned_in(session)
    form_url = f"/staff/sessions/{session.id}/walk-in"
    response = await post_form(as_volunteer, form_url, {"name": "One Too Many", "party_size": "1"}, page=form_url)
    assert response.status_code == 409 and "The session is full" in response.text
    assert 'value="One Too Many"' in response.text
    assert await Booking.count().where(Booking.session == session.id) == 1


# --- booking on someone's behalf ----------------------------------------------------------------


async def test_booking_by_phone_records_consent_and_shows_the_reference(as_volunteer, own_venue, volunteer):
    session = await session_at(own_venue, starts_in=timedelta(days=2))
    form_url = f"/staff/sessions/{session.id}/book"
    form = (await as_volunteer.get(form_url)).text
    assert "How did they give consent?" in form and 'type="radio"' in form
    response = await post_form(as_volunteer, form_url, {
        "consent_source": "phone", "name": "Mary Seacole", "email": f"{unique('mary')}@example.org",
        "contact_email": "yes", "contact_asked": "yes", "party_size": "2", "support_note": "Hard of hearing",
    }, page=form_url)
    assert response.status_code == 303
    booking_id = int(re.fullmatch(r"/staff/bookings/(\d+)/booked", response.headers["location"]).group(1))
    row = await Booking.select().where(Booking.id == booking_id).first()
    assert (row["source"], row["consent_source"], row["booked_by"]) == ("phone", "phone", volunteer.id)
    done = await as_volunteer.get(response.headers["location"])
    assert done.status_code == 200 and row["reference"] in done.text


async def test_booking_on_behalf_without_answers_is_a_422_that_keeps_the_input(as_volunteer, own_venue):
    session = await session_at(own_venue, starts_in=timedelta(days=2))
    form_url = f"/staff/sessions/{session.id}/book"
    empty = await post_form(as_volunteer, form_url, page=form_url)
    assert empty.status_code == 422 and "Select how they gave consent" in empty.text
    partial = await post_form(as_volunteer, form_url, {"name": "Ada Lovelace", "party_size": "9",
                                                      "contact_asked": "yes"}, page=form_url)
    assert partial.status_code == 422
    assert 'value="Ada Lovelace"' in partial.text and "Enter an email address or a mobile number" in partial.text
    assert "Enter their full name" not in partial.text


async def test_a_full_session_offers_the_waiting_list_instead(as_volunteer, own_venue):
    session = await session_at(own_venue, capacity=1, starts_in=timedelta(days=2))
    await phoned_in(session)
    form_url = f"/staff/sessions/{session.id}/book"
    answers = {"consent_source": "in_person", "name": "Noor Khan", "email": f"{unique('noor')}@example.org",
               "contact_email": "yes", "contact_asked": "yes", "party_size": "1"}
    full = await post_form(as_volunteer, form_url, answers, page=form_url)
    assert full.status_code == 409 and "Add them to the waiting list" in full.text
    joined = await post_form(as_volunteer, form_url, {**answers, "action": "waitlist"}, page=form_url)
    assert joined.status_code == 303 and joined.headers["location"] == register(session) + "?notice=waitlisted"
    assert await WaitlistEntry.count().where(WaitlistEntry.session == session.id) == 1


# --- moving up ---------------------------------------------------------------------------------


async def test_move_up_books_them_or_says_why_not(as_volunteer, own_venue):
    session = await session_at(own_venue, capacity=2, starts_in=timedelta(days=2))
    first = await phoned_in(session)
    await phoned_in(session, "Second Person")
    ada = await join_waitlist(session.id, ResidentDetails("Ada", f"{unique('ada')}@example.org"), 2, FixedClock())
    bob = await join_waitlist(session.id, resident(unique("bob")), 1, FixedClock())
    await cancel_booking(first.reference, authorised=True)
    page = (await as_volunteer.get(register(session))).text
    assert f'action="/staff/waitlist/{ada.waitlist_entry_id}/move-up"' in page
    url = f"/staff/waitlist/{ada.waitlist_entry_id}/move-up"
    refused = await post_form(as_volunteer, url, page=register(session))
    assert refused.status_code == 409 and "Only 1 place is free; Ada needs 2." in refused.text
    moved = await post_form(as_volunteer, f"/staff/waitlist/{bob.waitlist_entry_id}/move-up", page=register(session))
    assert moved.status_code == 303 and moved.headers["location"] == register(session) + "?notice=moved-up"


# --- who may use it ----------------------------------------------------------------------------


async def test_a_volunteer_of_another_venue_gets_403_on_every_route(as_volunteer, own_venue, other_venue):
    theirs = await session_at(other_venue, starts_in=timedelta(minutes=20))
    booking = await phoned_in(theirs)
    token_page = register(await session_at(own_venue))
    for path in (register(theirs), f"{register(theirs)}/print", f"/staff/sessions/{theirs.id}/walk-in",
                 f"/staff/sessions/{theirs.id}/book", f"/staff/bookings/{booking.booking_id}/booked"):
        assert (await as_volunteer.get(path)).status_code == 403, path
    for path in (f"/staff/bookings/{booking.booking_id}/attendance", f"/staff/sessions/{theirs.id}/walk-in",
                 f"/staff/sessions/{theirs.id}/book"):
        response = await post_form(as_volunteer, path, {"attendance": "attended", "name": "X", "party_size": "1"},
                                   page=token_page)
        assert response.status_code == 403, path
    assert await attendance(booking.booking_id) == "unmarked"
    assert await Booking.count().where(Booking.session == theirs.id) == 1


async def test_moving_up_another_venues_entry_is_403(as_volunteer, own_venue, other_venue):
    theirs = await session_at(other_venue, capacity=1, starts_in=timedelta(days=2))
    await phoned_in(theirs)
    entry = await join_waitlist(theirs.id, resident(unique("w")), 1, FixedClock())
    response = await post_form(as_volunteer, f"/staff/waitlist/{entry.waitlist_entry_id}/move-up",
                               page=register(await session_at(own_venue)))
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/staff/sessions/99999999999/register", "/staff/sessions/2147483000/register",
                                  "/staff/bookings/99999999999/booked"])
async def test_ids_that_do_not_exist_are_not_found(as_volunteer, path):
    assert (await as_volunteer.get(path)).status_code in (400, 404)


async def test_an_admin_may_take_any_venues_register(as_admin, other_venue):
    session = await session_at(other_venue)
    assert (await as_admin.get(register(session))).status_code == 200


async def test_a_coordinator_may_take_their_venues_register(as_coordinator, own_venue, other_venue):
    assert (await as_coordinator.get(register(await session_at(own_venue)))).status_code == 200
    assert (await as_coordinator.get(register(await session_at(other_venue)))).status_code == 403


# --- cancelling for someone ----------------------------------------------------------------------


async def test_a_volunteer_cancels_a_booking_for_someone_who_phoned(as_volunteer, own_venue):
    session = await session_at(own_venue, starts_in=timedelta(days=1))
    booking = await phoned_in(session, "Ada Lovelace", 2)
    url = f"/staff/bookings/{booking.booking_id}/cancel"
    page = (await as_volunteer.get(register(session))).text
    assert f'href="{url}"' in page and "Cancel booking<span class=\"visually-hidden\"> for Ada Lovelace</span>" in page

    form = await as_volunteer.get(url)
    assert form.status_code == 200 and "<h1>Cancel Ada Lovelace" in form.text and booking.reference in form.text
    missing = await post_form(as_volunteer, url, {"reason": "Poorly"}, page=url)
    assert missing.status_code == 422
    assert 'href="#told_us"' in missing.text and "Select how they asked to cancel" in missing.text
    assert ">Poorly</textarea>" in missing.text  # what was typed is kept
    assert (await Booking.select(Booking.status).where(Booking.id == booking.booking_id).first())["status"] == "confirmed"

    done = await post_form(as_volunteer, url, {"told_us": "phone", "reason": "Poorly"}, page=url)

    assert done.status_code == 303 and done.headers["location"] == register(session) + "?notice=cancelled"
    row = await Booking.select(Booking.status, Booking.cancel_reason).where(Booking.id == booking.booking_id).first()
    assert row == {"status": "cancelled", "cancel_reason": "Poorly"}
    after = (await as_volunteer.get(done.headers["location"])).text
    assert "The booking has been cancelled. We have sent them a message to say so." in after
    assert f'href="{url}"' not in after
    again = await post_form(as_volunteer, url, {"told_us": "phone"}, page=url)
    assert again.status_code == 409 and "already been cancelled" in again.text


async def test_a_started_session_offers_no_cancelling_and_refuses_it(as_volunteer, own_venue):
    session = await session_at(own_venue, starts_in=timedelta(minutes=30))
    booking = await phoned_in(session)
    await Session.update({Session.starts_at: Session.starts_at - timedelta(minutes=40)}).where(Session.id == session.id)
    url = f"/staff/bookings/{booking.booking_id}/cancel"
    assert f'href="{url}"' not in (await as_volunteer.get(register(session))).text

    refused = await post_form(as_volunteer, url, {"told_us": "in_person"}, page=url)

    assert refused.status_code == 409 and "Mark them as a no-show on the register instead." in refused.text
    assert (await Booking.select(Booking.status).where(Booking.id == booking.booking_id).first())["status"] == "confirmed"
