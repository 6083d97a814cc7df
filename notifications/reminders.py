"""Reminders before a session, decided from the database: each fires once per booking, at the venue's local time.

A scheduler pass records ``reminder.due`` (with a ``ScheduledReminder`` row, unique per booking and
reminder) for every reminder whose time has come; the notification worker sends it. State lives only
in the database, so a restarted or second scheduler never sends a reminder twice.

The row keeps the time it was decided for. When a session is moved, each reminder is decided once more
for the new time (the row is updated, guarded by its old time, so still only once): a resident reminded
"tomorrow at 10" of a session moved to next week is reminded again the day before it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import asyncpg

from booking.clock import Clock, SystemClock
from booking.rules import InvalidReminderHours, parse_reminder_hours
from booking.states import BookingStatus, SessionStatus
from booking.tables import Activity, Booking
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction
from events.outbox import record_event
from notifications.tables import ScheduledReminder

log = logging.getLogger(__name__)

DEFAULT_REMINDER_HOURS = "24,2"
#: Whole-day reminders keep the local time of day, so across a clock change one may come an hour earlier.
LOOK_AHEAD_SLACK = timedelta(hours=2)
DATABASE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error)
SYSTEM_CLOCK = SystemClock()


class ReminderStatus(StrEnum):
    DUE = "due"  #: reminder.due recorded; the worker sends it
    SKIPPED = "skipped"  #: booked (or the session moved) after its time, or a closer reminder was due as well


def due_times(starts_at: datetime, time_zone: str, reminder_hours: str) -> list[tuple[str, datetime]]:
    """Each reminder's label ("24h") and due instant in UTC, earliest first.

    Whole days before (24, 48 …) mean the same local time that many days earlier, as a resident would
    expect ("this time tomorrow"), even when the clocks change in between; other offsets are elapsed hours.
    """
    zone = ZoneInfo(time_zone)
    wall_clock = starts_at.astimezone(zone).replace(tzinfo=None)
    due = []
    for hours in parse_reminder_hours(reminder_hours):
        if hours % 24 == 0:
            at = (wall_clock - timedelta(days=hours // 24)).replace(tzinfo=zone).astimezone(UTC)
        else:
            at = starts_at.astimezone(UTC) - timedelta(hours=hours)
        due.append((f"{hours}h", at))
    return sorted(due, key=lambda pair: pair[1])


@dataclass(frozen=True)
class Decision:
    booking_id: int
    session_id: int
    reminder: str
    due_at: datetime
    status: ReminderStatus
    #: the due time this reminder was decided for before the session moved; None: never decided
    replaces: datetime | None = None


def decide(booking: dict, already: dict[str, datetime], now: datetime) -> list[Decision]:
    """What to record now for one booking: a reminder whose time has come is sent, unless the booking
    was made after that time or a closer reminder is due as well (after downtime: one reminder, not two).

    ``already`` maps each reminder decided before to the due time it was decided for. One decided for
    an earlier time of a session since moved is decided again for the new time, and skipped if the
    session was moved after that time had come (the resident was just told of the change).
    """
    try:
        reminders = due_times(booking["starts_at"], booking["time_zone"], booking["reminder_hours"])
    except InvalidReminderHours as exc:
        log.warning("reminders: booking %d: %s", booking["id"], exc)
        return []
    come = [(label, at) for label, at in reminders if at <= now]
    decisions = []
    for index, (label, at) in enumerate(come):
        decided_for = already.get(label)
        if decided_for == at:
            continue
        booked_too_late = booking["created_at"] >= at
        moved_too_late = decided_for is not None and booking["session_updated_at"] >= at
        superseded = index < len(come) - 1
        status = ReminderStatus.SKIPPED if booked_too_late or moved_too_late or superseded else ReminderStatus.DUE
        decisions.append(Decision(booking["id"], booking["session_id"], label, at, status, replaces=decided_for))
    return decisions


async def _look_ahead() -> timedelta:
    """How far ahead a session can have a reminder due: the largest reminder any activity asks for."""
    largest = 0
    for row in await Activity.select(Activity.reminder_hours).distinct():
        try:
            hours = parse_reminder_hours(row["reminder_hours"])
        except InvalidReminderHours:
            continue  # decide() logs it for each booking it affects
        largest = max([largest, *hours])
    return timedelta(hours=largest) + LOOK_AHEAD_SLACK


def _upcoming(now: datetime, look_ahead: timedelta):
    """Confirmed bookings on scheduled sessions starting within ``look_ahead`` (booking_session and
    session_starts_at indexes)."""
    return (
        (Booking.status == BookingStatus.CONFIRMED.value)
        & (Booking.session.status == SessionStatus.SCHEDULED.value)
        & (Booking.session.starts_at > now)
        & (Booking.session.starts_at <= now + look_ahead)
    )


async def _candidates(now: datetime) -> tuple[list[dict], dict[int, dict[str, datetime]]]:
    """The bookings to look at and the reminders already recorded for each, with the due time each was
    decided for: two queries, however many."""
    where = _upcoming(now, await _look_ahead())
    bookings = await Booking.select(
        Booking.id,
        Booking.created_at,
        Booking.session.id.as_alias("session_id"),
        Booking.session.starts_at.as_alias("starts_at"),
        Booking.session.updated_at.as_alias("session_updated_at"),
        Booking.session.activity.reminder_hours.as_alias("reminder_hours"),
        Booking.session.room.venue.time_zone.as_alias("time_zone"),
    ).where(where)
    if not bookings:
        return [], {}
    recorded = await ScheduledReminder.select(
        ScheduledReminder.booking_id, ScheduledReminder.reminder, ScheduledReminder.due_at
    ).where(ScheduledReminder.booking_id.is_in(Booking.select(Booking.id).where(where)))
    already: dict[int, dict[str, datetime]] = {}
    for row in recorded:
        already.setdefault(row["booking_id"], {})[row["reminder"]] = row["due_at"]
    return bookings, already


async def _record(decision: Decision, now: datetime) -> bool:
    """Record one decision (and, when due, its event) in one transaction; False if another scheduler
    recorded this reminder first."""
    try:
        async with write_transaction(ScheduledReminder._meta.db):
            if not await _claim_reminder(decision, now):
                log.info("reminders: %s for booking %d was already decided again", decision.reminder, decision.booking_id)
                return False
            if decision.status is ReminderStatus.DUE:
                await record_event(
                    "reminder.due",
                    {
                        "booking_id": decision.booking_id,
                        "session_id": decision.session_id,
                        "reminder": decision.reminder,
                        "due_at": decision.due_at.isoformat().replace("+00:00", "Z"),
                    },
                )
    except UNIQUE_VIOLATION_ERRORS as exc:
        if "scheduled_reminder" not in str(exc):
            raise
        log.info("reminders: %s for booking %d was already recorded", decision.reminder, decision.booking_id)
        return False
    return True


async def _claim_reminder(decision: Decision, now: datetime) -> bool:
    """Insert the reminder's row, or move a row decided for the session's old time to the new one; the
    guard on the old time lets only one scheduler do it. Raises a unique violation if another inserted it."""
    if decision.replaces is None:
        await ScheduledReminder.insert(
            ScheduledReminder(
                booking_id=decision.booking_id,
                reminder=decision.reminder,
                due_at=decision.due_at,
                status=decision.status.value,
                created_at=now,
            )
        )
        return True
    moved = await ScheduledReminder.update(
        {
            ScheduledReminder.due_at: decision.due_at,
            ScheduledReminder.status: decision.status.value,
            ScheduledReminder.created_at: now,
        }
    ).where(
        (ScheduledReminder.booking_id == decision.booking_id)
        & (ScheduledReminder.reminder == decision.reminder)
        & (ScheduledReminder.due_at == decision.replaces)
    ).returning(ScheduledReminder.id)
    return bool(moved)


async def schedule_due_reminders(now: datetime) -> int:
    """Record every reminder whose time has come; returns how many ``reminder.due`` events were recorded."""
    bookings, already = await _candidates(now)
    sent = 0
    for booking in bookings:
        for decision in decide(booking, already.get(booking["id"], {}), now):
            if await _record(decision, now) and decision.status is ReminderStatus.DUE:
                sent += 1
    if sent:
        log.info("reminders: %d reminder(s) due", sent)
    return sent


async def run_reminder_scheduler(stop: asyncio.Event, *, clock: Clock = SYSTEM_CLOCK, interval: float = 30.0) -> None:
    """Schedule reminders now and every ``interval`` seconds until ``stop``; a database outage is
    logged and retried."""
    await ScheduledReminder.count()  # fail loudly at start-up if the database is unreachable or not migrated
    while not stop.is_set():
        try:
            await schedule_due_reminders(clock.now())
        except DATABASE_ERRORS as exc:
            log.warning("reminders: database error (%s); trying again in %gs", exc, interval)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
    log.info("reminders: stopped")
