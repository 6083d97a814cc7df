"""The staff dashboard: each venue's sessions today and over the rest of the week, and how full they are.

"Today" and "this week" are the venue's local dates: today, then the six days after it. Three queries
whatever the number of venues: the venues, their sessions, and the waiting lists of those sessions.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count, Sum

from booking.states import ACTIVE_WAITLIST_STATUSES, SessionStatus
from booking.tables import Session, Venue, WaitlistEntry

WEEK_DAYS = 7  #: today and the six days after it
MAX_SESSIONS = 400  #: a dashboard longer than this is cut short (and says so)


@dataclass(frozen=True)
class DashboardSession:
    id: int
    activity_title: str
    room_name: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    capacity: int
    booked: int
    status: str
    waiting: int = 0  #: residents on the waiting list (waiting or with an open offer)
    waiting_places: int = 0

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED.value

    @property
    def booked_text(self) -> str:
        return f"{self.booked} of {self.capacity} booked"

    @property
    def fill_fraction(self) -> float:
        return min(self.booked / self.capacity, 1.0) if self.capacity > 0 else 0.0

    def local_date(self) -> date:
        return self.starts_at.astimezone(ZoneInfo(self.time_zone)).date()


@dataclass(frozen=True)
class VenueDay:
    venue_id: int
    name: str
    time_zone: str
    today: date
    today_sessions: list[DashboardSession] = field(default_factory=list)
    week_sessions: list[DashboardSession] = field(default_factory=list)  #: the six days after today


@dataclass(frozen=True)
class Dashboard:
    venues: list[VenueDay]
    cut_short: bool  #: more than MAX_SESSIONS sessions: only the first are shown


async def venue_choices(venue_ids: Collection[int] | None) -> list[dict]:
    """The venues a staff member sees on the dashboard: theirs (None: every one), not archived, by name."""
    query = Venue.select(Venue.id, Venue.name, Venue.time_zone).where(Venue.archived == False)  # noqa: E712
    if venue_ids is not None:
        if not venue_ids:
            return []
        query = query.where(Venue.id.is_in(list(venue_ids)))
    return await query.order_by(Venue.name).order_by(Venue.id)


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


async def build_dashboard(venues: list[dict], now: datetime) -> Dashboard:
    """Sessions (cancelled ones too, marked) from the start of today to the end of the week, per venue."""
    if not venues:
        return Dashboard([], False)
    days = {row["id"]: now.astimezone(ZoneInfo(row["time_zone"])).date() for row in venues}
    window = None
    for zone in sorted({row["time_zone"] for row in venues}):  # one condition per time zone, not per venue
        today = now.astimezone(ZoneInfo(zone)).date()
        ids = [row["id"] for row in venues if row["time_zone"] == zone]
        condition = (
            Session.room.venue.is_in(ids)
            & (Session.starts_at >= _local_midnight(today, zone))
            & (Session.starts_at < _local_midnight(today + timedelta(days=WEEK_DAYS), zone))
        )
        window = condition if window is None else window | condition
    rows = (
        await Session.select(
            Session.id,
            Session.activity.title.as_alias("activity_title"),
            Session.room.name.as_alias("room_name"),
            Session.room.venue.as_alias("venue_id"),
            Session.room.venue.time_zone.as_alias("time_zone"),
            Session.starts_at,
            Session.ends_at,
            Session.capacity,
            Session.booked,
            Session.status,
        )
        .where(window)
        .order_by(Session.starts_at)
        .order_by(Session.id)
        .limit(MAX_SESSIONS + 1)
    )
    cut_short = len(rows) > MAX_SESSIONS
    rows = rows[:MAX_SESSIONS]
    waiting = {}
    if rows:
        waiting = {
            row["session"]: row
            for row in await WaitlistEntry.select(
                WaitlistEntry.session, Count(WaitlistEntry.id, alias="people"),
                Sum(WaitlistEntry.party_size, alias="places"),
            )
            .where(WaitlistEntry.session.is_in([row["id"] for row in rows]))
            .where(WaitlistEntry.status.is_in(list(ACTIVE_WAITLIST_STATUSES)))
            .group_by(WaitlistEntry.session)
        }
    lines = {row["id"]: VenueDay(row["id"], row["name"], row["time_zone"], days[row["id"]]) for row in venues}
    for row in rows:
        queue = waiting.get(row["id"], {})
        session = DashboardSession(
            id=row["id"], activity_title=row["activity_title"], room_name=row["room_name"],
            starts_at=row["starts_at"], ends_at=row["ends_at"], time_zone=row["time_zone"],
            capacity=row["capacity"], booked=row["booked"], status=row["status"],
            waiting=queue.get("people") or 0, waiting_places=queue.get("places") or 0,
        )
        line = lines[row["venue_id"]]
        (line.today_sessions if session.local_date() == line.today else line.week_sessions).append(session)
    return Dashboard(list(lines.values()), cut_short)
