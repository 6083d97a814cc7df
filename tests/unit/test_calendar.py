"""Calendar files, pure: parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from booking.calendar import booking_ics, feed_token
from booking.queries import BookingView, SessionView

START = datetime(2031, 3, 4, 10, 30, tzinfo=UTC)


def view(status: str = "confirmed") -> BookingView:
    session = SessionView(
        id=1,
        activity_title="Chair yoga",
        activity_slug="chair-yoga",
        category="yoga_and_movement",
        description="",
        max_party_size=4,
        venue_name="Hednesford Library",
        venue_slug="hednesford",
        venue_address="1 High Street\nHednesford",
        venue_postcode="WS12 1AA",
        time_zone="Europe/London",
        room_name="Room 1",
        step_free_access=True,
        hearing_loop=False,
        accessible_toilet=True,
        partner_name=None,
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        capacity=10,
        booked=1,
        held=0,
        status="scheduled",
    )
    return BookingView(
        id=1,
        reference="K7P-3QX",
        party_size=1,
        status=status,
        created_at=START,
        cancelled_at=None,
        resident_name="Ada",
        resident_email="ada@example.org",
        resident_phone=None,
        session=session,
    )


def test_one_event_with_uid_times_place_and_alarm():
    body = booking_ics(view(), host="commons.example", manage_url="https://commons.example/m/x", now=START)
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert str(event["uid"]) == "booking-K7P-3QX@commons.example"
    assert event.decoded("dtstart") == START and event.decoded("dtend") == START + timedelta(hours=1)
    assert str(event["location"]) == "Hednesford Library, 1 High Street, Hednesford, WS12 1AA"
    assert "K7P-3QX" in str(event["description"]) and "https://commons.example/m/x" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(hours=1)


def test_a_cancelled_booking_is_marked_cancelled_without_an_alarm():
    [event] = Calendar.from_ical(booking_ics(view("cancelled"), host="h", manage_url=None, now=START)).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and event.walk("VALARM") == []


def test_feed_tokens_depend_on_resident_version_and_key():
    token = feed_token("key", 7, 1)
    assert token.startswith("7.1.") and token != feed_token("key", 7, 2) != feed_token("other", 7, 1)
    assert token != feed_token("key", 8, 1)
