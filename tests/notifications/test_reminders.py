"""Reminders before a session: once per booking per reminder, at the right local time, across clock changes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.clock import FixedClock
from booking.programme import change_session
from booking.service import BookingConfirmation, book_place, cancel_booking
from booking.states import BookingSource, SessionStatus
from booking.tables import Session
from events.tables import OutboxEvent
from notifications.reminders import InvalidReminderHours, due_times, run_reminder_scheduler, schedule_due_reminders
from notifications.tables import ScheduledReminder
from tests.builders import make_activity, make_session, resident, unique
from tests.support.services import wait_for_async

LONDON = ZoneInfo("Europe/London")
MINUTE = timedelta(minutes=1)


def london(*when: int) -> datetime:
    """A wall-clock time in London, as the UTC instant it is."""
    return datetime(*when, tzinfo=LONDON).astimezone(UTC)


def utc(*when: int) -> datetime:
    return datetime(*when, tzinfo=UTC)


# Pure rules -------------------------------------------------------------------------------------


def test_by_default_reminders_are_a_day_and_two_hours_before():
    assert due_times(london(2031, 3, 12, 14, 0), "Europe/London", "24,2") == [
        ("24h", london(2031, 3, 11, 14, 0)),
        ("2h", london(2031, 3, 12, 12, 0)),
    ]


def test_whole_days_keep_the_local_time_across_the_march_change():
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026: Saturday is GMT, Sunday BST.
    sunday_ten_am = london(2026, 3, 29, 10, 0)
    assert sunday_ten_am == utc(2026, 3, 29, 9, 0)
    assert due_times(sunday_ten_am, "Europe/London", "48,24,3") == [
        ("48h", utc(2026, 3, 27, 10, 0)),  # Friday 10:00 GMT
        ("24h", utc(2026, 3, 28, 10, 0)),  # Saturday 10:00 GMT: 23 elapsed hours, as a resident means "a day"
        ("3h", utc(2026, 3, 29, 6, 0)),  # hours that are not whole days are elapsed time: 07:00 BST
    ]


def test_whole_days_keep_the_local_time_across_the_october_change():
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026.
    assert due_times(london(2026, 10, 25, 10, 0), "Europe/London", "24,2") == [
        ("24h", utc(2026, 10, 24, 9, 0)),  # Saturday 10:00 BST: 25 elapsed hours
        ("2h", utc(2026, 10, 25, 8, 0)),
    ]
    assert due_times(london(2026, 10, 26, 10, 0), "Europe/London", "24,2")[0] == ("24h", utc(2026, 10, 25, 10, 0))


def test_reminder_hours_must_be_whole_hours():
    with pytest.raises(InvalidReminderHours):
        due_times(utc(2031, 1, 1, 12), "Europe/London", "24,two")
    with pytest.raises(InvalidReminderHours):
        due_times(utc(2031, 1, 1, 12), "Europe/London", "24,0")
    assert due_times(utc(2031, 1, 1, 12), "Europe/London", "") == []


# Against the database ---------------------------------------------------------------------------


async def session_at(starts_at: datetime, reminder_hours: str = "24,2") -> int:
    activity = await make_activity(reminder_hours=reminder_hours)
    session = await make_session(activity=activity)
    await Session.update({Session.starts_at: starts_at, Session.ends_at: starts_at + timedelta(hours=1)}).where(
        Session.id == session.id
    )
    return session.id


async def book(session_id: int, at: datetime) -> BookingConfirmation:
    return await book_place(session_id, resident(unique("reminded")), 1, now=at)


async def reminders_sent(booking_id: int) -> list[dict]:
    """The reminder.due events recorded for a booking, oldest first."""
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "reminder.due").order_by(OutboxEvent.id)
    data = [json.loads(row["payload"])["data"] for row in rows]
    return [d for d in data if d["booking_id"] == booking_id]


async def reminder_labels(booking_id: int) -> list[str]:
    return [d["reminder"] for d in await reminders_sent(booking_id)]


async def decisions(booking_id: int) -> dict[str, str]:
    rows = await ScheduledReminder.select(ScheduledReminder.reminder, ScheduledReminder.status).where(
        ScheduledReminder.booking_id == booking_id
    )
    return {row["reminder"]: row["status"] for row in rows}


async def run_at(*instants: datetime) -> None:
    for instant in instants:
        await schedule_due_reminders(instant)


async def test_a_booking_is_reminded_a_day_and_two_hours_before_by_default(db):
    starts = london(2031, 3, 12, 14, 0)
    booking = await book(await session_at(starts), starts - timedelta(days=3))

    await run_at(starts - timedelta(hours=24) - MINUTE)
    assert await reminder_labels(booking.booking_id) == []
    await run_at(starts - timedelta(hours=24))
    assert await reminders_sent(booking.booking_id) == [
        {
            "booking_id": booking.booking_id,
            "session_id": booking.session_id,
            "reminder": "24h",
            "due_at": "2031-03-11T14:00:00Z",
        }
    ]
    await run_at(starts - timedelta(hours=2) - MINUTE)
    assert await reminder_labels(booking.booking_id) == ["24h"]
    await run_at(starts - timedelta(hours=2), starts - MINUTE)
    assert await reminder_labels(booking.booking_id) == ["24h", "2h"]


async def test_an_activity_chooses_its_own_reminder_hours(db):
    starts = london(2031, 4, 9, 18, 30)
    booking = await book(await session_at(starts, reminder_hours="48,3"), starts - timedelta(days=5))
    await run_at(*(starts - timedelta(hours=hours) for hours in (48, 24, 3, 2)))
    assert await reminder_labels(booking.booking_id) == ["48h", "3h"]


async def test_a_booking_made_after_the_day_before_reminder_gets_only_the_two_hour_one(db):
    starts = london(2031, 5, 14, 11, 0)
    booking = await book(await session_at(starts), starts - timedelta(hours=10))
    await run_at(starts - timedelta(hours=10), starts - timedelta(hours=2))
    assert await reminder_labels(booking.booking_id) == ["2h"]
    assert await decisions(booking.booking_id) == {"24h": "skipped", "2h": "due"}


async def test_a_booking_made_after_every_reminder_time_gets_none(db):
    starts = london(2031, 5, 21, 11, 0)
    # Online booking closes an hour before the start, so this late booking is one staff took by phone.
    booking = await book_place(
        await session_at(starts),
        resident(unique("reminded")),
        1,
        source=BookingSource.PHONE,
        now=starts - timedelta(minutes=30),
    )
    await run_at(starts - timedelta(minutes=30), starts - MINUTE)
    assert await reminder_labels(booking.booking_id) == []


async def test_no_reminders_for_a_cancelled_booking_or_a_cancelled_session(db):
    starts = london(2031, 6, 4, 10, 0)
    session_id = await session_at(starts)
    cancelled = await book(session_id, starts - timedelta(days=4))
    await cancel_booking(cancelled.reference, manage_token=cancelled.manage_token, now=starts - timedelta(days=3))
    other_session_id = await session_at(starts)
    on_cancelled_session = await book(other_session_id, starts - timedelta(days=4))
    await Session.update({Session.status: SessionStatus.CANCELLED.value}).where(Session.id == other_session_id)

    await run_at(starts - timedelta(hours=24), starts - timedelta(hours=2))
    for booking in (cancelled, on_cancelled_session):
        assert await reminder_labels(booking.booking_id) == []
        assert await decisions(booking.booking_id) == {}


async def test_after_downtime_only_the_closest_reminder_is_sent(db):
    starts = london(2031, 6, 11, 10, 0)
    booking = await book(await session_at(starts), starts - timedelta(days=3))
    await run_at(starts - timedelta(hours=1))  # the scheduler was down from before the 24h time until now
    assert await reminder_labels(booking.booking_id) == ["2h"]
    assert await decisions(booking.booking_id) == {"24h": "skipped", "2h": "due"}


async def test_no_reminders_once_the_session_has_started(db):
    starts = london(2031, 6, 18, 10, 0)
    booking = await book(await session_at(starts), starts - timedelta(days=3))
    await run_at(starts, starts + timedelta(hours=1))
    assert await reminder_labels(booking.booking_id) == []


async def test_running_the_scheduler_again_sends_nothing_twice(db):
    starts = london(2031, 7, 2, 10, 0)
    booking = await book(await session_at(starts), starts - timedelta(days=3))
    at = starts - timedelta(hours=24)
    assert await schedule_due_reminders(at) >= 1
    assert await schedule_due_reminders(at) == 0
    assert await schedule_due_reminders(at + timedelta(hours=1)) == 0
    assert await reminder_labels(booking.booking_id) == ["24h"]


async def test_two_schedulers_at_once_record_each_reminder_once(db):
    starts = london(2031, 7, 9, 10, 0)
    session_id = await session_at(starts)
    bookings = [await book(session_id, starts - timedelta(days=3)) for _ in range(8)]
    at = starts - timedelta(hours=24)

    sent = await asyncio.gather(*(schedule_due_reminders(at) for _ in range(3)))

    assert sum(sent) == len(bookings)  # counted once, by whichever scheduler recorded it
    for booking in bookings:
        assert await reminder_labels(booking.booking_id) == ["24h"]


class CountingClock(FixedClock):
    """A fixed clock that counts how often the scheduler asked the time: one per pass."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self.passes = 0

    def now(self) -> datetime:
        self.passes += 1
        return super().now()


async def test_a_restarted_scheduler_does_not_send_again(db):
    starts = london(2031, 7, 16, 10, 0)
    booking = await book(await session_at(starts), starts - timedelta(days=3))
    clock = CountingClock(starts - timedelta(hours=24))

    first = asyncio.create_task(run_reminder_scheduler(asyncio.Event(), clock=clock, interval=0.01))
    await wait_for_async(lambda: reminder_labels(booking.booking_id), message="the 24h reminder")
    first.cancel()  # a crash: no clean shutdown
    with pytest.raises(asyncio.CancelledError):
        await first

    stop = asyncio.Event()
    clock.passes = 0
    second = asyncio.create_task(run_reminder_scheduler(stop, clock=clock, interval=0.01))
    await wait_for_async(lambda: clock.passes >= 3, message="two whole passes of the new scheduler")
    stop.set()
    await second
    assert await reminder_labels(booking.booking_id) == ["24h"]


CLOCKS_GO_BACK = utc(2026, 10, 25, 1, 0)  #: 02:00 BST on Sunday 25 October 2026 becomes 01:00 GMT


async def fired_while_stepping(booking_id: int, start: datetime, end: datetime, *, near: list[datetime]):
    """Run the scheduler minute by minute within 90 minutes of each instant in ``near`` (and every quarter
    of an hour elsewhere) from ``start`` to ``end``; returns which reminders fired at which minute."""
    fired: list[tuple[str, datetime]] = []
    now = start
    while now <= end:
        if await schedule_due_reminders(now):
            labels = await reminder_labels(booking_id)
            fired += [(label, now) for label in labels[len(fired) :]]
        close = any(abs(now - instant) <= timedelta(minutes=90) for instant in near)
        now += MINUTE if close else timedelta(minutes=15)
    return fired


async def test_a_day_before_a_sunday_session_after_the_clocks_go_back_is_ten_am_on_saturday(db):
    # Sunday 25 October 2026, 10:00 GMT; the clocks went back at 02:00 BST that night.
    starts = london(2026, 10, 25, 10, 0)
    booking = await book(await session_at(starts), london(2026, 10, 20, 9, 0))
    saturday_ten_am, sunday_eight_am = utc(2026, 10, 24, 9, 0), utc(2026, 10, 25, 8, 0)

    fired = await fired_while_stepping(
        booking.booking_id,
        utc(2026, 10, 24, 7, 30),
        utc(2026, 10, 25, 9, 59),
        near=[saturday_ten_am, starts - timedelta(hours=24), CLOCKS_GO_BACK, sunday_eight_am],
    )

    assert fired == [("24h", saturday_ten_am), ("2h", sunday_eight_am)]
    assert saturday_ten_am.astimezone(LONDON).strftime("%A %H:%M %Z") == "Saturday 10:00 BST"  # 25 hours before
    assert sunday_eight_am.astimezone(LONDON).strftime("%A %H:%M %Z") == "Sunday 08:00 GMT"


async def test_a_day_before_a_monday_session_is_ten_am_on_sunday_across_the_change(db):
    # Monday 26 October 2026, 10:00 GMT: the night before the reminder is the night the clocks go back.
    starts = london(2026, 10, 26, 10, 0)
    booking = await book(await session_at(starts), london(2026, 10, 20, 9, 0))
    sunday_ten_am = utc(2026, 10, 25, 10, 0)

    fired = await fired_while_stepping(
        booking.booking_id, utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 11, 30), near=[CLOCKS_GO_BACK, sunday_ten_am]
    )

    assert fired == [("24h", sunday_ten_am)]
    assert sunday_ten_am.astimezone(LONDON).strftime("%A %H:%M %Z") == "Sunday 10:00 GMT"


# A session moved after its reminders -------------------------------------------------------------


async def test_a_session_moved_a_week_on_after_its_day_before_reminder_is_reminded_again_before_the_new_time(db):
    starts = london(2031, 8, 6, 10, 0)
    session_id = await session_at(starts)
    booking = await book(session_id, starts - timedelta(days=3))
    await run_at(starts - timedelta(hours=24))
    assert await reminder_labels(booking.booking_id) == ["24h"]

    moved_to = starts + timedelta(days=7)
    await change_session(session_id, starts_at=moved_to, now=starts - timedelta(hours=23))

    await run_at(starts - timedelta(hours=2), starts, moved_to - timedelta(hours=24) - MINUTE)
    assert await reminder_labels(booking.booking_id) == ["24h"]  # nothing for the old time any more
    sent = await asyncio.gather(*(schedule_due_reminders(moved_to - timedelta(hours=24)) for _ in range(3)))
    await run_at(moved_to - timedelta(hours=23), moved_to - timedelta(hours=2))

    assert sum(sent) == 1  # three schedulers at once: decided again once
    assert [(d["reminder"], d["due_at"]) for d in await reminders_sent(booking.booking_id)] == [
        ("24h", "2031-08-05T09:00:00Z"),
        ("24h", "2031-08-12T09:00:00Z"),
        ("2h", "2031-08-13T07:00:00Z"),
    ]
    assert await decisions(booking.booking_id) == {"24h": "due", "2h": "due"}


async def test_a_session_moved_after_its_new_reminder_time_is_not_reminded_again(db):
    # Moved at 12:00 on the day before, from 10:00 to 11:00: the new "day before" time, 11:00, has passed.
    starts = london(2031, 8, 20, 10, 0)
    session_id = await session_at(starts)
    booking = await book(session_id, starts - timedelta(days=3))
    await run_at(starts - timedelta(hours=24))
    moved_at = starts - timedelta(hours=22)
    await change_session(session_id, starts_at=starts + timedelta(hours=1), now=moved_at)

    await run_at(moved_at, moved_at + timedelta(hours=1), starts + timedelta(hours=1) - timedelta(hours=2))

    assert await reminder_labels(booking.booking_id) == ["24h", "2h"]  # told of the move; the 2h one for the new time
    assert await decisions(booking.booking_id) == {"24h": "skipped", "2h": "due"}


async def test_a_session_moved_and_moved_back_is_not_reminded_twice(db):
    starts = london(2031, 8, 27, 10, 0)
    session_id = await session_at(starts)
    booking = await book(session_id, starts - timedelta(days=3))
    await run_at(starts - timedelta(hours=24))
    await change_session(session_id, starts_at=starts + timedelta(days=2), now=starts - timedelta(hours=23))
    await change_session(session_id, starts_at=starts, now=starts - timedelta(hours=22))

    await run_at(starts - timedelta(hours=21), starts - timedelta(hours=2))

    assert await reminder_labels(booking.booking_id) == ["24h", "2h"]
    assert await decisions(booking.booking_id) == {"24h": "due", "2h": "due"}  # the first decision stands
