"""Joining a full session's waiting list from its page: plain form posts, htmx swaps, errors and the confirmation."""

from __future__ import annotations

import re

from booking.tables import Booking, Resident, Session, WaitlistEntry
from tests.builders import fill_session, make_session, unique
from tests.web.conftest import csrf_token, submit_booking, submit_waitlist

WAITLIST_ACTION = re.compile(r'action="/sessions/\d+/waitlist"')


def an_email() -> str:
    return f"{unique('waiting')}@example.org"


async def full_session(capacity: int = 2, **overrides) -> Session:
    session = await make_session(capacity, **overrides)
    await fill_session(session.id, capacity)
    return session


async def entries_on(session_id: int) -> list[dict]:
    return await WaitlistEntry.select().where(WaitlistEntry.session == session_id).order_by(WaitlistEntry.id)


async def test_a_full_session_shows_the_waiting_list_form_instead_of_booking(client):
    session = await full_session(max_party_size=3)
    response = await client.get(f"/sessions/{session.id}")
    assert response.status_code == 200
    form_area = response.text.split('id="booking-form"', 1)[1]
    assert "Join the waiting list</h2>" in form_area
    assert "This session is full." in form_area
    assert WAITLIST_ACTION.search(form_area) and f'hx-post="/sessions/{session.id}/waitlist"' in form_area
    assert "Confirm booking" not in form_area
    for field in ("name", "email", "phone", "party_size"):
        assert f'<label class="label" for="{field}">' in form_area
    checkbox = re.search(r'<input class="checkbox-input" id="sms_opt_in"[^>]*>', form_area).group(0)
    assert 'name="sms_opt_in"' in checkbox and "checked" not in checkbox
    assert "You can book up to 3 places." in form_area


async def test_joining_shows_your_number_only_to_this_browser(client, other_client):
    session = await full_session()
    first = await submit_waitlist(client, session.id, name="Mary Seacole", email=an_email(), party_size="2")
    assert first.status_code == 303
    location = first.headers["location"]
    assert re.fullmatch(r"/waitlist/\d+/confirmation", location)

    page = await client.get(location)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<title>You're on the waiting list, number 1 – Commons</title>" in page.text
    assert '<strong class="reference">1</strong>' in page.text
    assert "Chair yoga" in page.text
    assert "Mary Seacole" not in page.text  # nothing beyond what the page needs

    second = await submit_waitlist(other_client, session.id, email=an_email())
    page = await other_client.get(second.headers["location"])
    assert '<strong class="reference">2</strong>' in page.text

    assert (await other_client.get(location)).status_code == 404  # not the browser that joined
    entries = await entries_on(session.id)
    assert [(e["party_size"], e["status"]) for e in entries] == [(2, "waiting"), (1, "waiting")]


async def test_the_confirmation_repeats_the_email_typed_and_the_texts_choice(client):
    session = await full_session()
    email = an_email()
    response = await submit_waitlist(client, session.id, email=email, phone="07700 900 123", sms_opt_in="yes")
    page = await client.get(response.headers["location"])
    assert f"We will email {email} if places come up, and send you a text." in page.text
    resident = await Resident.objects().where(Resident.email == email).first()
    assert resident.contact_by_sms and resident.sms_consent_at is not None
    assert resident.phone == "+447700900123"


async def test_mistakes_re_render_the_waiting_list_form_with_input_kept(client):
    session = await full_session()
    response = await submit_waitlist(
        client, session.id, name="Ada <i>", email="not-an-email", phone="", sms_opt_in="yes", party_size="1"
    )
    assert response.status_code == 400
    text = response.text
    assert "<title>Error: " in text
    assert "Join the waiting list</h2>" in text
    assert '<a href="#email">Enter an email address in the correct format, like name@example.com</a>' in text
    assert '<a href="#phone">Enter a mobile number to get texts</a>' in text
    assert 'value="Ada &lt;i&gt;"' in text
    checkbox = re.search(r'<input class="checkbox-input"[^>]*>', text).group(0)
    assert "checked" in checkbox  # what they ticked stays ticked
    assert await entries_on(session.id) == []


async def test_joining_twice_says_already_on_the_list(client):
    session = await full_session()
    email = an_email()
    assert (await submit_waitlist(client, session.id, email=email)).status_code == 303
    response = await submit_waitlist(client, session.id, email=email, name="Ada Again")
    assert response.status_code == 409
    assert "You are already on the waiting list for this session." in response.text
    assert "Join the waiting list</h2>" in response.text and 'value="Ada Again"' in response.text
    assert len(await entries_on(session.id)) == 1


async def test_someone_already_booked_cannot_also_wait(client):
    session = await make_session(capacity=2)
    email = an_email()
    assert (await submit_booking(client, session.id, email=email)).status_code == 303
    await fill_session(session.id, 1)
    response = await submit_waitlist(client, session.id, email=email)
    assert response.status_code == 409
    assert "You already have a booking for this session." in response.text
    assert await entries_on(session.id) == []


async def test_when_places_are_free_the_booking_form_comes_back_with_the_input(client):
    session = await make_session(capacity=3)
    token = await csrf_token(client, f"/sessions/{session.id}")
    form = {"name": "Early Bird", "email": an_email(), "phone": "", "party_size": "2", "_csrf_token": token}
    response = await client.post(f"/sessions/{session.id}/waitlist", data=form)
    assert response.status_code == 409
    assert "There are places left on this session, so you can book it now" in response.text
    assert "Book a place</h2>" in response.text and f'action="/sessions/{session.id}/book"' in response.text
    assert 'value="Early Bird"' in response.text and 'value="2"' in response.text
    assert await entries_on(session.id) == []


async def test_a_booking_too_big_for_the_places_left_offers_the_waiting_list(client):
    session = await make_session(capacity=3)
    await fill_session(session.id, 2)
    email = an_email()
    response = await submit_booking(client, session.id, name="Big Party", email=email, party_size="3")
    assert response.status_code == 409
    text = response.text
    assert "Sorry, there are not enough places left on this session. You can join the waiting list instead." in text
    assert "Join the waiting list</h2>" in text and WAITLIST_ACTION.search(text)
    assert "1 place left: not enough for the number of places you asked for." in text
    assert 'value="Big Party"' in text and f'value="{email}"' in text and 'value="3"' in text
    assert await Booking.count().where(Booking.session == session.id) == 2

    joined = await submit_waitlist(client, session.id, name="Big Party", email=email, party_size="3")
    assert joined.status_code == 303
    assert [e["party_size"] for e in await entries_on(session.id)] == [3]


async def test_htmx_swaps_only_the_form_area(client):
    session = await full_session()
    headers = {"HX-Request": "true"}
    bad = await submit_waitlist(client, session.id, headers=headers, name="")
    assert bad.status_code == 400
    assert bad.text.lstrip().startswith("<title>Error: ")
    assert '<section id="booking-form"' in bad.text and "<header" not in bad.text
    assert "Enter your full name" in bad.text

    good = await submit_waitlist(client, session.id, headers=headers, email=an_email())
    assert good.status_code == 200
    location = good.headers["hx-redirect"]
    assert "You're on the waiting list" in (await client.get(location)).text


async def test_joining_without_a_csrf_token_is_refused(client):
    session = await full_session()
    await client.get(f"/sessions/{session.id}")
    form = {"name": "Mallory", "email": an_email(), "party_size": "1"}
    response = await client.post(f"/sessions/{session.id}/waitlist", data=form)
    assert response.status_code == 403
    assert await entries_on(session.id) == []


async def test_a_cancelled_session_has_no_waiting_list(client):
    from booking.states import SessionStatus

    cancelled = await make_session(status=SessionStatus.CANCELLED)
    page = await client.get(f"/sessions/{cancelled.id}")
    assert "Join the waiting list" not in page.text
    token = await csrf_token(client, f"/sessions/{(await make_session()).id}")  # any form's token will do
    form = {"name": "Ada", "email": an_email(), "party_size": "1", "_csrf_token": token}
    response = await client.post(f"/sessions/{cancelled.id}/waitlist", data=form)
    assert response.status_code == 409
    assert "This session has been cancelled" in response.text
    assert (await client.post("/sessions/999999999/waitlist", data=form)).status_code == 404
    assert (await client.get("/waitlist/999999999/confirmation")).status_code == 404
