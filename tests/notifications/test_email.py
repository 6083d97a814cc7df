"""The booking confirmation e-mail, rendered without a database."""

from __future__ import annotations

from datetime import datetime, timezone

from booking.queries import BookingView, SessionView
from notifications.email import render_booking_confirmed
from notifications.mailer import build_message

STARTS = datetime(2026, 7, 14, 9, 30, tzinfo=timezone.utc)  # 10:30 in London (BST)


def a_booking(name: str = "Ada Lovelace") -> BookingView:
    session = SessionView(
        id=1, activity_title="Chair yoga", activity_slug="chair-yoga", category="yoga_and_movement",
        description="", max_party_size=4, venue_name="Hednesford Library", venue_slug="hednesford",
        venue_address="1 High Street\nHednesford", venue_postcode="WS12 1AA", time_zone="Europe/London",
        room_name="Community room", step_free_access=True, hearing_loop=False, accessible_toilet=True,
        partner_name=None, starts_at=STARTS, ends_at=STARTS.replace(hour=10, minute=30), capacity=10,
        booked=2, held=0, status="scheduled",
    )
    return BookingView(
        id=7, reference="K7P-3QX", party_size=2, status="confirmed", created_at=STARTS, cancelled_at=None,
        resident_name=name, resident_email="ada@example.org", resident_phone=None, session=session,
    )


def test_confirmation_says_what_where_when_and_how_to_cancel():
    booking = a_booking()
    message = render_booking_confirmed(booking, manage_url="http://x.test/bookings/manage/K7P-3QX.mac", event_id="e1")

    for body in (message.text, message.html):
        assert "Chair yoga" in body
        assert "Hednesford Library" in body
        assert "1 High Street" in body and "WS12 1AA" in body
        assert booking.session.when in body
        assert "10:30" in booking.session.when  # local time, not UTC
        assert "K7P-3QX" in body
        assert "http://x.test/bookings/manage/K7P-3QX.mac" in body
    assert message.to == "ada@example.org"
    assert message.message_id == "<e1.booking_confirmed@commons>"
    assert '<html lang="en">' in message.html


def test_html_is_escaped_and_text_is_not():
    message = render_booking_confirmed(a_booking("<b>Bob & Co</b>"), manage_url="http://x.test/m", event_id="e2")

    assert "&lt;b&gt;Bob &amp; Co&lt;/b&gt;" in message.html
    assert "<b>Bob & Co</b>" in message.text


def test_the_mime_message_has_text_and_html_alternatives_and_a_stable_message_id():
    message = render_booking_confirmed(a_booking(), manage_url="http://x.test/m", event_id="e3")

    mime = build_message(message, "Commons <bookings@commons.localhost>")

    assert mime["Message-ID"] == "<e3.booking_confirmed@commons>"
    assert mime.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mime.iter_parts()] == ["text/plain", "text/html"]
