"""Day-before reminders from end to end across the October clock change, on both databases.

Bookings on the Sunday and the Monday after the clocks go back: the reminder scheduler records
``reminder.due`` at the right local time, the relay publishes it to a nats-server of this test's own,
the notification consumer queues the e-mail and the sender delivers it to a real SMTP server, once,
naming the session's local start time. The worker's parts run in this process as
``run_notifications_worker`` runs them, but on the test's clock, which the test moves on.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from booking.clock import FixedClock
from booking.service import book_place
from booking.tables import Session
from booking.validation import ResidentDetails
from events.consumer import consume
from events.relay import run_relay
from events.tables import OutboxEvent, ProcessedMessage
from notifications.handlers import Notifier
from notifications.reminders import run_reminder_scheduler
from notifications.states import MessageStatus
from notifications.tables import OutboundMessage
from notifications.worker import SPEC, sender_for
from tests.builders import make_activity, make_session
from tests.events.support import body_of, settings_for, unique_email
from tests.support.services import NatsServer, wait_for_async

BASE_URL = "http://testserver.local"
# The clocks go back at 02:00 BST (01:00 UTC) on Sunday 26 October 2031.
SATURDAY_TEN_AM_BST = datetime(2031, 10, 25, 9, 0, tzinfo=UTC)
SUNDAY_TEN_AM_GMT = datetime(2031, 10, 26, 10, 0, tzinfo=UTC)
MONDAY_TEN_AM_GMT = datetime(2031, 10, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def own_nats(tmp_path):
    """A nats-server for this test alone, so its workers see only this database's events."""
    server = NatsServer(store_dir=tmp_path / "nats")
    server.start()
    yield server
    server.stop()


class SchedulerClock:
    """The test's clock as the reminder scheduler sees it, counting its passes (it asks the time once a pass)."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.passes = 0

    def now(self) -> datetime:
        self.passes += 1
        return self.clock.now()


@asynccontextmanager
async def notifications_on(settings, clock: FixedClock, scheduler_clock: SchedulerClock):
    """The relay and the notification worker's three parts, until the block ends."""
    stop = asyncio.Event()
    notifier = Notifier(settings, clock=clock)
    sender = sender_for(settings)
    sender.clock = clock
    spec = replace(SPEC, ack_wait=float(settings.ack_wait_seconds))
    tasks = [
        asyncio.create_task(run_relay(settings, stop)),
        asyncio.create_task(consume(settings.nats_url, spec, notifier.handle_event, stop)),
        asyncio.create_task(sender.run(stop, notifier.queued)),
        asyncio.create_task(run_reminder_scheduler(stop, clock=scheduler_clock, interval=0.05)),
    ]
    try:
        yield
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=30)
        for result in results:
            if isinstance(result, BaseException):
                raise result


async def session_at(starts_at: datetime) -> int:
    session = await make_session(activity=await make_activity(reminder_hours="24"))
    await Session.update({Session.starts_at: starts_at, Session.ends_at: starts_at + timedelta(hours=1)}).where(
        Session.id == session.id
    )
    return session.id


def reminders_to(smtp_server, address: str) -> list:
    return [m for m in smtp_server.sink.to(address) if m["Subject"].startswith("Reminder:")]


async def reminder_events(booking_id: int) -> list[str]:
    """The ids of the reminder.due events recorded for a booking."""
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "reminder.due")
    events = [json.loads(row["payload"]) for row in rows]
    return [event["id"] for event in events if event["data"]["booking_id"] == booking_id]


async def full_passes(scheduler_clock: SchedulerClock) -> None:
    """Wait until the scheduler has made a whole pass at the clock's present time."""
    seen = scheduler_clock.passes
    await wait_for_async(lambda: scheduler_clock.passes >= seen + 2, message="a whole scheduler pass")


async def all_handled(booking_ids: list[int], addresses: list[str]) -> bool:
    """Every reminder.due for these bookings consumed, and nothing to these addresses left to send."""
    event_ids = [event_id for booking_id in booking_ids for event_id in await reminder_events(booking_id)]
    handled = await ProcessedMessage.count().where(
        (ProcessedMessage.consumer == SPEC.durable) & ProcessedMessage.event_id.is_in(event_ids or [""])
    )
    unsent = await OutboundMessage.exists().where(
        OutboundMessage.recipient.is_in(addresses)
        & OutboundMessage.status.is_in([MessageStatus.PENDING.value, MessageStatus.SENDING.value])
    )
    return handled == len(event_ids) and not unsent


async def test_day_before_reminders_arrive_once_at_ten_local_time_across_the_october_change(
    db, data_dir, smtp_server, own_nats
):
    settings = settings_for(
        db.url, data_dir, COMMONS_NATS_URL=own_nats.url, COMMONS_SMTP_URL=smtp_server.url, COMMONS_BASE_URL=BASE_URL
    )
    sunday_email, monday_email = unique_email(), unique_email()
    booked_at = datetime(2031, 10, 20, 9, 0, tzinfo=UTC)
    sunday = await book_place(
        await session_at(SUNDAY_TEN_AM_GMT), ResidentDetails("Sunday Resident", sunday_email), 1, now=booked_at
    )
    monday = await book_place(
        await session_at(MONDAY_TEN_AM_GMT), ResidentDetails("Monday Resident", monday_email), 1, now=booked_at
    )
    clock = FixedClock(SATURDAY_TEN_AM_BST - timedelta(minutes=1))
    scheduler_clock = SchedulerClock(clock)

    async with notifications_on(settings, clock, scheduler_clock):
        # The pipeline is up: both booking confirmations arrive. At 09:59 BST no reminder is due yet.
        for address in (sunday_email, monday_email):
            await wait_for_async(lambda a=address: smtp_server.sink.to(a), timeout=60, message=f"mail to {address}")
        await full_passes(scheduler_clock)
        assert await reminder_events(sunday.booking_id) == []

        # 10:00 BST on Saturday, 25 elapsed hours before the Sunday session: "this time tomorrow".
        clock.advance(SATURDAY_TEN_AM_BST - clock.now())
        [sunday_reminder] = await wait_for_async(
            lambda: reminders_to(smtp_server, sunday_email), timeout=30, message="the Sunday reminder"
        )
        assert "starting at 10am on Sunday 26 October." in body_of(sunday_reminder)

        # Through the night the clocks go back, to 09:59 GMT on Sunday: nothing yet for Monday, not even
        # at 09:00 GMT, which is 10:00 by the summer offset.
        for instant in (
            datetime(2031, 10, 26, 0, 59, tzinfo=UTC),
            datetime(2031, 10, 26, 1, 1, tzinfo=UTC),
            datetime(2031, 10, 26, 9, 0, tzinfo=UTC),
            MONDAY_TEN_AM_GMT - timedelta(days=1, minutes=1),
        ):
            clock.advance(instant - clock.now())
            await full_passes(scheduler_clock)
            assert await reminder_events(monday.booking_id) == [], instant

        # 10:00 GMT on Sunday: the Monday reminder.
        clock.advance(MONDAY_TEN_AM_GMT - timedelta(days=1) - clock.now())
        [monday_reminder] = await wait_for_async(
            lambda: reminders_to(smtp_server, monday_email), timeout=30, message="the Monday reminder"
        )
        assert "starting at 10am on Monday 27 October." in body_of(monday_reminder)

        # On to the sessions themselves: no reminder is sent again.
        for instant in (SUNDAY_TEN_AM_GMT - timedelta(minutes=1), MONDAY_TEN_AM_GMT - timedelta(minutes=1)):
            clock.advance(instant - clock.now())
            await full_passes(scheduler_clock)
        await wait_for_async(
            lambda: all_handled([sunday.booking_id, monday.booking_id], [sunday_email, monday_email]),
            timeout=30,
            message="every reminder handled and sent",
        )

    for booking, address in ((sunday, sunday_email), (monday, monday_email)):
        assert len(await reminder_events(booking.booking_id)) == 1
        assert len(reminders_to(smtp_server, address)) == 1
