"""The "Your data" pages through HTTP: sign-in required, download, preferences, deletion, authorisation."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from booking.service import book_place
from booking.tables import Booking, Resident
from booking.validation import ResidentDetails
from notifications.tables import OutboundMessage
from tests.builders import make_session, unique
from tests.web.conftest import csrf_token
from tests.web.sign_in_support import sign_in_as

PERSONAL_PAGES = ["/my-data", "/my-data/all", "/my-data/download.json", "/my-data/delete"]


async def booked(label: str, **extra):
    """A fresh resident with one upcoming booking; returns (their e-mail, the confirmation)."""
    email = f"{unique(label)}@example.org"
    session = await make_session()
    confirmation = await book_place(
        session.id, ResidentDetails(name=f"Resident {label}", email=email, **extra), 2, support_note="Needs a ramp"
    )
    return email, confirmation


async def queue_message(resident_id: int, channel: str, recipient: str) -> int:
    now = datetime.now(UTC)
    message = OutboundMessage(
        event_id=unique("event"),
        channel=channel,
        template="booking_confirmed",
        recipient=recipient,
        resident_id=resident_id,
        text_body="Your booking is confirmed",
        send_after=now,
        next_attempt_at=now,
        created_at=now,
    )
    await message.save()
    return message.id


async def message_status(message_id: int) -> str:
    row = await OutboundMessage.select(OutboundMessage.status).where(OutboundMessage.id == message_id).first()
    return row["status"]


@pytest.mark.parametrize("path", PERSONAL_PAGES)
async def test_a_browser_that_is_not_signed_in_is_sent_to_sign_in(client, db, path):
    response = await client.get(path)
    assert response.status_code == 303 and response.headers["location"] == "/my-bookings"


async def test_posts_need_a_signed_in_resident(client, db):
    session = await make_session()
    token = await csrf_token(client, f"/sessions/{session.id}")
    for path in ("/my-data/preferences", "/my-data/delete"):
        response = await client.post(path, data={"confirm": "yes", "by_text": "yes", "_csrf_token": token})
        assert response.status_code == 303 and response.headers["location"] == "/my-bookings"
        assert (await client.post(path, data={"confirm": "yes"})).status_code == 403  # and a form token


async def test_your_data_page_shows_what_we_hold(client, db):
    email, confirmation = await booked("page", phone="+447700900123")
    await sign_in_as(client, email)

    response = await client.get("/my-data")

    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    assert 'hx-history="false"' in response.text
    for text in ("Resident page", email, "+447700900123", "1 in total, 1 upcoming", "Download your data"):
        assert text in response.text


async def test_download_holds_everything_and_is_an_attachment(client, db):
    email, confirmation = await booked("download")
    resident_id = await sign_in_as(client, email)
    await queue_message(resident_id, "email", email)

    response = await client.get("/my-data/download.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == 'attachment; filename="commons-my-data.json"'
    assert "no-store" in response.headers["cache-control"]
    data = response.json()
    assert data["resident"]["email"] == email
    assert [b["reference"] for b in data["bookings"]] == [confirmation.reference]
    assert data["bookings"][0]["support_note"] == "Needs a ramp"
    assert data["messages"][0]["address"] == email and data["messages"][0]["template"] == "booking_confirmed"
    assert data["sign_in_links"][0]["used_at"] is not None  # the link just used to sign in
    assert "nonce" not in response.text and "hash" not in response.text


async def test_the_readable_page_shows_the_same_data(client, db):
    email, confirmation = await booked("readable")
    await sign_in_as(client, email)

    response = await client.get("/my-data/all")

    assert response.status_code == 200 and "no-store" in response.headers["cache-control"]
    for text in (confirmation.reference, email, "Needs a ramp", "Chair yoga", "Sign-in links"):
        assert text in response.text


async def test_one_resident_never_sees_anothers_data(client, other_client, db):
    mine, my_booking = await booked("mine")
    theirs, their_booking = await booked("theirs")
    await sign_in_as(client, mine)
    await sign_in_as(other_client, theirs)

    for path in ("/my-data", "/my-data/all", "/my-data/download.json"):
        page = (await client.get(path)).text
        assert my_booking.reference in page or mine in page
        assert their_booking.reference not in page and theirs not in page
    download = (await other_client.get("/my-data/download.json")).json()
    assert [b["reference"] for b in download["bookings"]] == [their_booking.reference]


async def test_turning_texts_on_without_a_number_shows_an_error_and_keeps_the_choice(client, db):
    email, _ = await booked("nonumber")
    await sign_in_as(client, email)
    token = await csrf_token(client, "/my-data")

    response = await client.post(
        "/my-data/preferences", data={"by_email": "yes", "by_text": "yes", "_csrf_token": token}
    )

    assert response.status_code == 400
    assert "<title>Error: Your data" in response.text
    assert '<a href="#by_text">We do not have a mobile number for you' in response.text
    ticked = re.search(r'<input[^>]*id="by_text"[^>]*>', response.text).group(0)
    assert 'aria-describedby="by_text-hint by_text-error"' in ticked and ticked.endswith(" checked>")


async def test_texts_on_then_off_with_javascript_off(client, db):
    email, confirmation = await booked("textsoff", phone="+447700900321")
    resident_id = await sign_in_as(client, email)
    token = await csrf_token(client, "/my-data")

    response = await client.post(
        "/my-data/preferences", data={"by_email": "yes", "by_text": "yes", "_csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["location"] == "/my-data?saved=preferences"
    row = await Resident.select().where(Resident.id == resident_id).first()
    assert row["contact_by_sms"] and row["sms_consent_at"] is not None
    page = await client.get("/my-data?saved=preferences")
    assert "Your contact preferences have been saved." in page.text and "You agreed at" in page.text

    pending = await queue_message(resident_id, "sms", "+447700900321")
    response = await client.post("/my-data/preferences", data={"by_email": "yes", "_csrf_token": token})
    assert response.status_code == 303
    row = await Resident.select().where(Resident.id == resident_id).first()
    assert not row["contact_by_sms"] and row["sms_consent_at"] is None and row["sms_opted_out_at"] is not None
    assert await message_status(pending) == "cancelled"


async def test_stopping_emails_with_htmx_swaps_the_section_and_cancels_queued_emails(client, db):
    email, _ = await booked("htmxmail")
    resident_id = await sign_in_as(client, email)
    token = await csrf_token(client, "/my-data")
    pending = await queue_message(resident_id, "email", email)

    response = await client.post("/my-data/preferences", data={"_csrf_token": token}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.lstrip().startswith("<title>Your data") and "<html" not in response.text
    assert 'id="contact-preferences"' in response.text and "data-focus-after-swap" in response.text
    assert "No, you stopped them" in response.text
    assert await message_status(pending) == "cancelled"
    row = await Resident.select().where(Resident.id == resident_id).first()
    assert not row["contact_by_email"] and row["email_opted_out_at"] is not None


async def test_delete_needs_the_box_ticked(client, db):
    email, confirmation = await booked("notticked")
    resident_id = await sign_in_as(client, email)
    page = await client.get("/my-data/delete")
    assert "cancelled and the places offered to other people" in page.text
    assert "no-store" in page.headers["cache-control"]
    token = await csrf_token(client, "/my-data/delete")

    response = await client.post("/my-data/delete", data={"_csrf_token": token})

    assert response.status_code == 400
    assert "<title>Error: Delete your data" in response.text
    assert '<a href="#confirm">Tick the box to confirm you want to delete your data</a>' in response.text
    row = await Resident.select(Resident.erased_at).where(Resident.id == resident_id).first()
    assert row["erased_at"] is None


async def test_delete_erases_signs_out_and_the_email_can_book_again(client, db):
    email, confirmation = await booked("deleteme")
    resident_id = await sign_in_as(client, email)
    token = await csrf_token(client, "/my-data/delete")

    response = await client.post("/my-data/delete", data={"confirm": "yes", "_csrf_token": token})

    assert response.status_code == 303 and response.headers["location"] == "/my-data/deleted"
    done = await client.get("/my-data/deleted")
    assert done.status_code == 200 and "Your data has been deleted" in done.text
    assert (await client.get("/my-data")).headers["location"] == "/my-bookings"  # signed out
    row = await Resident.select().where(Resident.id == resident_id).first()
    assert row["email"] is None and row["erased_at"] is not None
    booking = await Booking.select(Booking.status).where(Booking.id == confirmation.booking_id).first()
    assert booking["status"] == "cancelled"
    session = await make_session()
    again = await book_place(session.id, ResidentDetails(name="New me", email=email), 1)
    assert again.resident_id != resident_id


async def test_another_browser_signed_in_as_an_erased_resident_is_signed_out(client, other_client, db):
    email, _ = await booked("twobrowsers")
    await sign_in_as(client, email)
    await sign_in_as(other_client, email)
    token = await csrf_token(client, "/my-data/delete")
    await client.post("/my-data/delete", data={"confirm": "yes", "_csrf_token": token})

    response = await other_client.get("/my-data/download.json")

    assert response.status_code == 303 and response.headers["location"] == "/my-bookings"


async def test_privacy_notice_and_accessibility_statement(client, db):
    privacy = await client.get("/privacy")
    assert privacy.status_code == 200
    for text in ("Privacy notice", "special category", "public task", "until you delete them", "Information Commissioner"):
        assert text in privacy.text
    statement = await client.get("/accessibility")
    assert statement.status_code == 200
    for text in ("Accessibility statement", "Enforcement procedure", "axe-core", "partially compliant"):
        assert text in statement.text
