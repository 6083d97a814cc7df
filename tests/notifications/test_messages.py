"""Rendering e-mails and texts, without a database: escaping, the MIME message, the length of a text."""

from __future__ import annotations

from datetime import UTC, datetime

from booking.queries import BookingView, SessionView
from notifications.mailer import build_message
from notifications.messages import SMS_STOP, SMS_TARGET_LENGTH, message_id_for, moment, render_email, render_sms

STARTS = datetime(2026, 7, 14, 9, 30, tzinfo=UTC)  # 10:30 in London (BST)
MANAGE_URL = "https://bookings.example-council.gov.uk/bookings/manage/K7P-3QX." + "m" * 32
UNSUBSCRIBE_URL = "http://x.test/notifications/unsubscribe/7.mac"


def a_booking(name: str = "Ada Lovelace", title: str = "Chair yoga", venue: str = "Hednesford Library") -> BookingView:
    session = SessionView(
        id=1, activity_title=title, activity_slug="chair-yoga", category="yoga_and_movement",
        description="", max_party_size=4, venue_name=venue, venue_slug="hednesford",
        venue_address="1 High Street\nHednesford", venue_postcode="WS12 1AA", time_zone="Europe/London",
        room_name="Community room", step_free_access=True, hearing_loop=False, accessible_toilet=True,
        partner_name=None, starts_at=STARTS, ends_at=STARTS.replace(hour=10, minute=30), capacity=10,
        booked=2, held=0, status="scheduled",
    )
    return BookingView(
        id=7, reference="K7P-3QX", party_size=2, status="confirmed", created_at=STARTS, cancelled_at=None,
        resident_name=name, resident_email="ada@example.org", resident_phone=None, session=session,
    )


def confirmation(booking: BookingView, event_id: str = "e1"):
    context = {"name": booking.resident_name, "booking": booking, "session": booking.session, "manage_url": MANAGE_URL}
    return render_email(
        "booking_confirmed", context, to="ada@example.org",
        message_id=message_id_for(event_id, "booking_confirmed"), unsubscribe_url=UNSUBSCRIBE_URL,
    )


def test_confirmation_says_what_where_when_and_how_to_cancel_or_unsubscribe():
    booking = a_booking()
    message = confirmation(booking)

    for body in (message.text, message.html):
        assert "Chair yoga" in body
        assert "Hednesford Library" in body
        assert "1 High Street" in body and "WS12 1AA" in body
        assert "Tuesday 14 July, 10:30am to 11:30am" in body  # local time, not UTC
        assert "K7P-3QX" in body
        assert MANAGE_URL in body
        assert UNSUBSCRIBE_URL in body
    assert message.subject == "Booking confirmed: Chair yoga, Tuesday 14 July, 10:30am to 11:30am (K7P-3QX)"
    assert message.message_id == "<e1.booking_confirmed@commons>"
    assert '<html lang="en">' in message.html


def test_html_is_escaped_and_text_is_not():
    message = confirmation(a_booking("<b>Bob & Co</b>"), event_id="e2")

    assert "&lt;b&gt;Bob &amp; Co&lt;/b&gt;" in message.html
    assert "<b>Bob & Co</b>" in message.text


def test_the_mime_message_has_alternatives_a_stable_message_id_and_one_click_unsubscribe():
    mime = build_message(confirmation(a_booking(), event_id="e3"), "Commons <bookings@commons.localhost>")

    assert mime["Message-ID"] == "<e3.booking_confirmed@commons>"
    assert mime["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mime.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mime.iter_parts()] == ["text/plain", "text/html"]


def test_an_event_that_tells_many_people_gives_each_email_its_own_message_id():
    assert message_id_for("e4", "session_cancelled", 12) == "<e4.session_cancelled.12@commons>"
    assert message_id_for("e4", "session_cancelled", 13) != message_id_for("e4", "session_cancelled", 12)


def test_a_text_is_one_line_ending_with_how_to_stop():
    booking = a_booking()
    text = render_sms("booking_confirmed", {"booking": booking, "session": booking.session, "manage_url": MANAGE_URL})

    assert "\n" not in text and "  " not in text
    assert text.endswith(" " + SMS_STOP)
    assert "K7P-3QX" in text and "Tuesday 14 July, 10:30am to 11:30am" in text and MANAGE_URL in text


def test_long_titles_and_venue_names_are_shortened_so_a_text_stays_short():
    booking = a_booking(title="Chair yoga " * 18, venue="The Very Long Name Community Library " * 5)
    context = {"booking": booking, "session": booking.session, "manage_url": MANAGE_URL}

    text = render_sms("booking_confirmed", context)

    assert len(text) <= SMS_TARGET_LENGTH
    assert MANAGE_URL in text and text.endswith(SMS_STOP)


def test_an_instant_is_said_in_words_at_the_venue():
    assert moment(datetime(2026, 1, 20, 18, 0, tzinfo=UTC), "Europe/London") == "6pm on Tuesday 20 January"
    assert moment(datetime(2026, 7, 14, 9, 30, tzinfo=UTC), "Europe/London") == "10:30am on Tuesday 14 July"
