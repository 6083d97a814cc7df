"""Texts only for residents who ask for them: the booking form's checkbox and the API's ``sms_opt_in``."""

from __future__ import annotations

import re

from booking.tables import Booking, Resident
from tests.builders import make_session, unique
from tests.web.conftest import submit_booking

CHECKBOX = re.compile(r'<input class="checkbox-input" id="sms_opt_in"[^>]*>')


def an_email() -> str:
    return f"{unique('texts')}@example.org"


async def resident_with(email: str) -> Resident:
    return await Resident.objects().where(Resident.email == email).first()


async def test_the_booking_form_has_an_unticked_labelled_checkbox_with_a_hint(client):
    session = await make_session()
    text = (await client.get(f"/sessions/{session.id}")).text
    checkbox = CHECKBOX.search(text).group(0)
    assert 'type="checkbox"' in checkbox and 'id="sms_opt_in"' in checkbox and 'name="sms_opt_in"' in checkbox
    assert "checked" not in checkbox
    assert 'aria-describedby="sms_opt_in-hint"' in checkbox
    assert '<label class="checkbox-label" for="sms_opt_in">' in text
    assert '<p class="hint checkbox-hint" id="sms_opt_in-hint">We&#39;ll text you about this booking. Reply STOP at any time.</p>' in text


async def test_ticking_it_without_a_mobile_number_is_an_error_on_the_phone_field(client):
    session = await make_session()
    response = await submit_booking(client, session.id, email=an_email(), phone="", sms_opt_in="yes")
    assert response.status_code == 400
    assert '<a href="#phone">Enter a mobile number to get texts</a>' in response.text
    assert '<p class="error-message" id="phone-error"><span class="visually-hidden">Error:</span> Enter a mobile number to get texts</p>' in response.text
    assert "checked" in CHECKBOX.search(response.text).group(0)
    assert await Booking.count().where(Booking.session == session.id) == 0


async def test_ticking_it_with_a_number_records_consent(client):
    session = await make_session()
    email = an_email()
    response = await submit_booking(client, session.id, email=email, phone="07700 900 456", sms_opt_in="yes")
    assert response.status_code == 303
    resident = await resident_with(email)
    assert resident.phone == "+447700900456"
    assert resident.contact_by_sms is True and resident.sms_consent_at is not None


async def test_a_number_without_the_tick_is_not_consent(client):
    session = await make_session()
    email = an_email()
    assert (await submit_booking(client, session.id, email=email, phone="07700 900 457")).status_code == 303
    resident = await resident_with(email)
    assert resident.phone == "+447700900457"
    assert resident.contact_by_sms is False and resident.sms_consent_at is None


async def test_the_api_takes_sms_opt_in(client):
    session = await make_session()
    url = f"/api/v1/sessions/{session.id}/bookings"
    email = an_email()

    missing_phone = await client.post(url, json={"name": "A", "email": email, "party_size": 1, "sms_opt_in": True})
    assert missing_phone.status_code == 422
    assert missing_phone.json()["errors"] == {"phone": "Enter a mobile number to get texts"}

    wrong_type = await client.post(url, json={"name": "A", "email": email, "party_size": 1, "sms_opt_in": "please"})
    assert wrong_type.status_code == 400

    booked = await client.post(
        url, json={"name": "A", "email": email, "phone": "07700900458", "party_size": 1, "sms_opt_in": True}
    )
    assert booked.status_code == 201, booked.text
    resident = await resident_with(email)
    assert resident.contact_by_sms is True and resident.sms_consent_at is not None

    other = an_email()
    default = await client.post(url, json={"name": "B", "email": other, "phone": "07700900459", "party_size": 1})
    assert default.status_code == 201
    assert (await resident_with(other)).contact_by_sms is False


async def test_the_schema_documents_sms_opt_in(client):
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert schemas["BookingIn"]["properties"]["sms_opt_in"]["type"] == "boolean"
