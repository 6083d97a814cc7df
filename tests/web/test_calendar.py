"""Calendar files: a booking's .ics from its manage link, and the private per-resident feed."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar

from booking.calendar import feed_token
from booking.service import cancel_booking
from booking.tables import Resident
from commons.settings import DEV_SECRET_KEY
from tests.builders import make_session
from tests.web.account_support import book, sign_in_as, someone
from tests.web.conftest import csrf_token


def events_of(body: bytes) -> list:
    return [component for component in Calendar.from_ical(body).walk("VEVENT")]


async def test_a_bookings_ics_has_one_event_with_a_reminder(client):
    session = await make_session(duration=timedelta(minutes=90))
    confirmation = await book(session.id, someone("ics"), 2)
    response = await client.get(f"/bookings/manage/{confirmation.manage_token}/calendar.ics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="commons-{confirmation.reference}.ics"'
    [event] = events_of(response.content)
    assert str(event["uid"]) == f"booking-{confirmation.reference}@127.0.0.1"
    assert event.decoded("dtstart") == session.starts_at
    assert event.decoded("dtend") == session.starts_at + timedelta(minutes=90)
    assert str(event["summary"]) == "Chair yoga"
    assert "1 High Street" in str(event["location"]) and "WS12 1AA" in str(event["location"])
    assert confirmation.reference in str(event["description"])
    assert f"/bookings/manage/{confirmation.manage_token}" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"
    [alarm] = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY" and alarm.decoded("trigger") == -timedelta(hours=1)


async def test_the_feed_lists_only_the_residents_bookings_and_stays_current(client, other_client):
    session = await make_session(capacity=10)
    ada, bob = someone("feed-ada"), someone("feed-bob")
    first = await book(session.id, ada)
    second = await book((await make_session()).id, ada)
    theirs = await book(session.id, bob)
    await sign_in_as(client, ada.email, first.resident_id)
    page = await client.get("/my-bookings")
    url = page.text.split('id="feed-url" type="text" readonly value="', 1)[1].split('"', 1)[0]
    path = url.removeprefix("http://127.0.0.1:8000")

    response = await other_client.get(path)  # no session needed: the link is the credential
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "no-store" and response.headers["x-robots-tag"] == "noindex"
    uids = {str(event["uid"]) for event in events_of(response.content)}
    assert uids == {f"booking-{first.reference}@127.0.0.1", f"booking-{second.reference}@127.0.0.1"}
    assert theirs.reference not in response.text

    await cancel_booking(first.reference, authorised=True)
    statuses = {str(e["uid"]): str(e["status"]) for e in events_of((await other_client.get(path)).content)}
    assert statuses[f"booking-{first.reference}@127.0.0.1"] == "CANCELLED"


async def test_reset_link_stops_every_earlier_feed_url(client):
    session = await make_session()
    who = someone("reset")
    confirmation = await book(session.id, who)
    old = feed_token(DEV_SECRET_KEY, confirmation.resident_id, 1)
    assert (await client.get(f"/calendar/{old}.ics")).status_code == 200
    await sign_in_as(client, who.email, confirmation.resident_id)
    token = await csrf_token(client, "/my-bookings")

    response = await client.post("/my-bookings/calendar/reset", data={"_csrf_token": token})
    assert response.status_code == 303
    assert "reset" in (await client.get(response.headers["location"])).text
    assert (await client.get(f"/calendar/{old}.ics")).status_code == 404
    new = feed_token(DEV_SECRET_KEY, confirmation.resident_id, 2)
    assert (await client.get(f"/calendar/{new}.ics")).status_code == 200


async def test_forged_unknown_or_erased_feeds_are_404(client):
    session = await make_session()
    confirmation = await book(session.id, someone("forged"))
    good = feed_token(DEV_SECRET_KEY, confirmation.resident_id, 1)
    for path in (
        f"/calendar/{good[:-4]}AAAA.ics",
        f"/calendar/{good}",  # without .ics
        f"/calendar/{feed_token('another-key', confirmation.resident_id, 1)}.ics",
        f"/calendar/{feed_token(DEV_SECRET_KEY, 2**31 - 1, 1)}.ics",
        "/calendar/1.1.x.ics",
        "/calendar/" + "9" * 300 + ".ics",
    ):
        assert (await client.get(path)).status_code == 404, path
    from datetime import UTC, datetime

    await Resident.update({Resident.erased_at: datetime.now(UTC)}).where(Resident.id == confirmation.resident_id)
    assert (await client.get(f"/calendar/{good}.ics")).status_code == 404


async def test_the_reset_needs_a_signed_in_resident(client):
    token = await csrf_token(client, "/my-bookings")
    response = await client.post("/my-bookings/calendar/reset", data={"_csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/my-bookings"
