"""The booking journey in the web app: form, check your answers (with Change), confirm, confirmation; rules."""

from __future__ import annotations

import re
from datetime import timedelta

from booking.tables import Booking, Resident, Session, Venue
from tests.builders import fill_session, make_activity, make_session, unique
from tests.web.conftest import check_answers, confirm_answers, confirm_form_fields, csrf_token, submit_booking

REFERENCE = re.compile(r'<strong class="reference">([A-Z0-9]{3}-[A-Z0-9]{3})</strong>')
SUMMARY_LINK = re.compile(r'<li><a href="#([a-z_]+)">([^<]+)</a></li>')


def an_email() -> str:
    return f"{unique('check')}@example.org"


async def bookings_on(session_id: int) -> int:
    return await Booking.count().where(Booking.session == session_id)


async def test_continue_shows_the_answers_and_books_nothing_yet(client):
    session = await make_session(capacity=5)
    response = await check_answers(
        client, session.id, name="Grace Hopper", email=an_email(), party_size="2", support_note="I need a chair"
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "<title>Check your answers before booking – Commons</title>" in response.text
    assert "Grace Hopper" in response.text and "I need a chair" in response.text
    assert 'hx-history="false"' in response.text  # personal: htmx keeps no copy
    assert "Confirm booking</button>" in response.text
    assert await bookings_on(session.id) == 0


async def test_confirm_books_and_the_confirmation_has_reference_manage_and_calendar_links(client):
    session = await make_session(capacity=5)
    email = an_email()
    checked = await check_answers(client, session.id, email=email, party_size="2", support_note="Hearing loop please")
    response = await confirm_answers(client, session.id, checked.text)
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    reference = REFERENCE.search(page.text).group(1)
    booking = await Booking.objects().where(Booking.reference == reference).first()
    assert booking.party_size == 2 and booking.support_note == "Hearing loop please"
    assert booking.idempotency_key_hash
    assert f'href="/bookings/manage/{reference}.' in page.text
    assert re.search(rf'href="/bookings/manage/{reference}\.[^"]+/calendar\.ics"', page.text)
    assert 'href="/whats-on"' in page.text


async def test_change_returns_to_the_form_with_every_answer_kept(client):
    session = await make_session(capacity=5)
    checked = await check_answers(
        client,
        session.id,
        name="Mary Seacole",
        email="mary@example.org",
        phone="07700 900 111",
        sms_opt_in="yes",
        party_size="3",
        support_note="Step-free entrance",
    )
    fields = confirm_form_fields(checked.text)
    response = await client.post(f"/sessions/{session.id}/book", data={**fields, "change": "party_size"})
    assert response.status_code == 200
    text = response.text
    assert 'value="Mary Seacole"' in text and 'value="mary@example.org"' in text and 'value="07700 900 111"' in text
    assert 'value="3"' in text and ">Step-free entrance</textarea>" in text
    assert re.search(r'id="sms_opt_in"[^>]*checked', text)
    assert re.search(r'id="party_size"[^>]*autofocus', text)
    assert f'value="{fields["idempotency_key"]}"' in text  # the same key travels on
    assert await bookings_on(session.id) == 0


async def test_each_error_has_a_summary_link_title_prefix_and_input_kept(client):
    session = await make_session(capacity=5)
    response = await check_answers(client, session.id, name="", email="", phone="", party_size="9")
    assert response.status_code == 400
    assert "<title>Error: " in response.text
    links = dict(SUMMARY_LINK.findall(response.text))
    assert links == {
        "name": "Enter your full name",
        "email": "Enter an email address or a mobile number, so we can send your booking details",
        "party_size": "You can book up to 4 places for this activity",
    }
    for field in links:
        assert f'id="{field}"' in response.text
    assert 'value="9"' in response.text


async def test_too_long_support_note_is_an_error_with_the_text_kept(client):
    session = await make_session()
    note = "x" * 501
    response = await check_answers(client, session.id, email=an_email(), support_note=note)
    assert response.status_code == 400
    assert '<a href="#support_note">Access or support needs must be 500 characters or fewer</a>' in response.text
    assert f">{note}</textarea>" in response.text


async def test_no_contact_choice_is_an_error(client):
    session = await make_session()
    response = await check_answers(client, session.id, email=an_email(), contact_email="", contact_asked="yes")
    assert response.status_code == 400
    assert '<a href="#contact_email">Select how we should contact you about this booking</a>' in response.text


async def test_booking_with_only_a_mobile_number(client):
    session = await make_session()
    phone = "07700 900 765"
    response = await submit_booking(client, session.id, email="", phone=phone, sms_opt_in="yes", contact_email="")
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "We will text your confirmation to +447700900765." in page.text
    booking = await Booking.objects().where(Booking.session == session.id).first()
    who = await Resident.objects().where(Resident.id == booking.resident).first()
    assert who.email is None and who.phone == "+447700900765" and who.sms_consent_at is not None


async def test_session_page_explains_the_rules_and_links_activity_and_venue(client):
    activity = await make_activity(max_party_size=3, max_active_bookings=2)
    session = await make_session(activity=activity, max_party_size=3)
    page = (await client.get(f"/sessions/{session.id}")).text
    assert f'href="/activities/{activity.slug}"' in page
    assert re.search(r'href="/venues/venue-[^"]+"', page)
    assert "You can book up to 3 places." in page
    assert "Booking opens 28 days before the session and closes 1 hour before it starts." in page
    assert "Each person can have 2 upcoming bookings for this activity at a time." in page


async def test_before_booking_opens_the_page_says_when_instead_of_a_form(client):
    session = await make_session(activity=await make_activity(booking_opens_days=1), starts_in=timedelta(days=5))
    page = await client.get(f"/sessions/{session.id}")
    form_area = page.text.split('id="booking-form"', 1)[1]
    assert "Booking for this session opens on " in form_area
    assert f'action="/sessions/{session.id}/book"' not in form_area
    token = await csrf_token(client, f"/sessions/{(await make_session()).id}")
    refused = await client.post(
        f"/sessions/{session.id}/book/confirm",
        data={"name": "Ada", "email": an_email(), "party_size": "1", "_csrf_token": token},
    )
    assert refused.status_code == 409
    assert "Booking for this session opens on " in refused.text and "<title>Error: " in refused.text
    assert await bookings_on(session.id) == 0


async def test_after_booking_closes_the_page_gives_the_venues_phone(client):
    session = await make_session(activity=await make_activity(booking_closes_hours=3), starts_in=timedelta(hours=2))
    venue_id = (await Session.select(Session.room.venue.id.as_alias("v")).where(Session.id == session.id).first())["v"]
    await Venue.update({Venue.phone: "01543 222333"}).where(Venue.id == venue_id)
    page = await client.get(f"/sessions/{session.id}")
    assert "3 hours before it starts. Contact the venue on 01543 222333 if you still want to come." in page.text
    assert f'action="/sessions/{session.id}/book"' not in page.text


async def test_too_many_active_bookings_is_shown_in_the_form(client):
    activity = await make_activity(title="Chair yoga", max_active_bookings=1)
    first = await make_session(activity=activity, starts_in=timedelta(days=2))
    second = await make_session(activity=activity, starts_in=timedelta(days=3))
    email = an_email()
    assert (await submit_booking(client, first.id, email=email)).status_code == 303
    response = await submit_booking(client, second.id, email=email, name="Ada Again")
    assert response.status_code == 409
    assert "You already have 1 upcoming booking for Chair yoga" in response.text
    assert 'value="Ada Again"' in response.text and "<title>Error: " in response.text


async def test_filled_up_while_checking_offers_the_waiting_list(client):
    session = await make_session(capacity=2)
    checked = await check_answers(client, session.id, email=an_email(), party_size="2")
    await fill_session(session.id, 1)
    response = await confirm_answers(client, session.id, checked.text)
    assert response.status_code == 409
    assert "Sorry, there are not enough places left on this session." in response.text
    assert "Join the waiting list</h2>" in response.text
    assert f'action="/sessions/{session.id}/waitlist"' in response.text
    assert await bookings_on(session.id) == 1


async def test_htmx_steps_swap_the_form_and_the_last_one_redirects(client):
    session = await make_session()
    headers = {"HX-Request": "true"}
    token = await csrf_token(client, f"/sessions/{session.id}")
    headers["x-csrftoken"] = token
    checked = await check_answers(client, session.id, headers=headers, email=an_email())
    assert checked.status_code == 200 and "<html" not in checked.text
    assert '<section id="booking-form"' in checked.text and "Check your answers before booking" in checked.text
    done = await confirm_answers(client, session.id, checked.text, headers=headers)
    assert done.status_code == 200 and done.headers["hx-redirect"].endswith("/confirmation")


async def test_another_browser_cannot_see_the_confirmation(client, other_client):
    session = await make_session()
    location = (await submit_booking(client, session.id, email=an_email())).headers["location"]
    assert (await client.get(location)).status_code == 200
    assert (await other_client.get(location)).status_code == 404
