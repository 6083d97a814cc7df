"""GET /staff: each of the staff member's venues, today's and this week's sessions, how full, and the links."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.states import SessionStatus, WaitlistEntryStatus
from booking.tables import Resident, Session, WaitlistEntry
from tests.builders import make_activity, make_room, unique

LONDON = ZoneInfo("Europe/London")


def today_at(hour: int, days: int = 0) -> datetime:
    """Noon-ish on a local day, so the test means the same thing at any time of day."""
    day: date = datetime.now(LONDON).date() + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=LONDON).astimezone(UTC)


async def session_at(venue, title: str, starts_at: datetime, *, capacity: int = 15, booked: int = 0,
                     waiting: int = 0, status: SessionStatus = SessionStatus.SCHEDULED) -> Session:
    room = await make_room(venue, capacity=30, name=f"Room {title}")
    activity = await make_activity(title=title)
    now = datetime.now(UTC)
    session = Session(activity=activity.id, room=room.id, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
                      capacity=capacity, booked=booked, status=status.value, created_at=now, updated_at=now)
    await session.save()
    for _ in range(waiting):
        person = Resident(name=unique("Waiting"), email=f"{unique('w')}@example.org", created_at=now)
        await person.save()
        await WaitlistEntry(session=session.id, resident=person.id, party_size=2,
                            status=WaitlistEntryStatus.WAITING.value, created_at=now).save()
    return session


def row_of(page: str, title: str) -> str:
    match = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{re.escape(title)}(?:(?!</tr>).)*</tr>", page, re.S)
    assert match, f"no row for {title}"
    return match.group(0)


async def test_a_coordinator_sees_todays_sessions_at_their_venue_with_counts_and_links(as_coordinator, own_venue,
                                                                                       other_venue):
    today = await session_at(own_venue, "Chair yoga today", today_at(12), capacity=15, booked=12, waiting=3)
    later = await session_at(own_venue, "Knit later this week", today_at(12, days=3), capacity=8, booked=0)
    await session_at(other_venue, "Someone else's quiz", today_at(12))
    await session_at(own_venue, "Far future walk", today_at(12, days=9))

    response = await as_coordinator.get("/staff")
    assert response.status_code == 200
    page = response.text
    assert "Our Library" in page and "Another Library" not in page
    assert "Someone else&#39;s quiz" not in page and "Far future walk" not in page
    row = row_of(page, "Chair yoga today")
    assert "12 of 15 booked" in row
    assert "3 waiting (6 places)" in row
    assert f'href="/staff/sessions/{today.id}/register"' in row
    assert f'href="/staff/sessions/{today.id}"' in row
    assert 'class="fill-bar"' in row and 'width="79.2"' in row  # 12/15 of the bar, beside the words
    assert page.index("Chair yoga today") < page.index("Later this week") < page.index("Knit later this week")
    assert "0 of 8 booked" in row_of(page, "Knit later this week")
    assert f'href="/staff/sessions/{later.id}/register"' in page
    assert f'href="/staff/venues/{own_venue.id}/sessions/new"' in page
    assert 'href="/staff/programme"' in page
    assert response.headers["cache-control"] == "no-store"


async def test_a_volunteer_can_take_the_register_but_not_manage_sessions(as_volunteer, own_venue):
    session = await session_at(own_venue, "Job club today", today_at(12), capacity=10, booked=2)
    page = (await as_volunteer.get("/staff")).text
    row = row_of(page, "Job club today")
    assert "2 of 10 booked" in row and "None waiting" in row
    assert f'href="/staff/sessions/{session.id}/register"' in row
    assert f'href="/staff/sessions/{session.id}"' not in row
    assert "/sessions/new" not in page and 'href="/staff/programme"' not in page


async def test_a_cancelled_session_is_marked_in_words_and_has_no_register(as_coordinator, own_venue):
    session = await session_at(own_venue, "Cancelled craft", today_at(12), status=SessionStatus.CANCELLED)
    row = row_of((await as_coordinator.get("/staff")).text, "Cancelled craft")
    assert "Cancelled</strong>" in row
    assert f"/staff/sessions/{session.id}/register" not in row


async def test_an_admin_can_pick_any_venue_and_a_coordinator_only_their_own(as_admin, other_venue, own_venue):
    await session_at(other_venue, "Admin can see this", today_at(12))
    page = (await as_admin.get(f"/staff?venue={other_venue.id}")).text
    assert "Admin can see this" in page and f'<h2 id="venue-{other_venue.id}">Another Library' in page


async def test_a_coordinator_cannot_ask_for_another_venue(as_coordinator, other_venue):
    await session_at(other_venue, "Not for coordinators", today_at(12))
    for value in (str(other_venue.id), "99999999999", "abc"):
        response = await as_coordinator.get(f"/staff?venue={value}")
        assert response.status_code == 422
        assert "Not for coordinators" not in response.text
        assert "There is a problem" in response.text


async def test_someone_not_signed_in_is_sent_to_sign_in(staff_client):
    response = await staff_client.get("/staff")
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/sign-in")


async def test_an_admin_sees_every_venue_and_can_choose_one(as_admin, own_venue, other_venue):
    await session_at(own_venue, "Everyone's yoga", today_at(12))
    await session_at(other_venue, "Everyone's quiz", today_at(12))
    response = await as_admin.get("/staff")
    assert response.status_code == 200
    assert "Everyone&#39;s yoga" in response.text and "Everyone&#39;s quiz" in response.text
    assert f'<option value="{other_venue.id}">Another Library</option>' in response.text
