"""When a text may go out: none during the night at the venue, held until the morning instead."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

QUIET_START = time(21)
QUIET_END = time(8)


def next_allowed_send_time(
    now_utc: datetime, time_zone: str = "Europe/London", start: time = QUIET_START, end: time = QUIET_END
) -> datetime:
    """``now_utc`` if it is outside quiet hours in ``time_zone``, else the next ``end`` there, in UTC."""
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(time_zone)
    local = now_utc.astimezone(zone)
    if not _is_quiet(local.time().replace(tzinfo=None), start, end):
        return now_utc.astimezone(UTC)
    morning = local.date() if local.time().replace(tzinfo=None) < end else local.date() + timedelta(days=1)
    return _wall_clock_to_utc(morning, end, zone)


def _is_quiet(clock: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end  # the quiet period spans midnight


def _wall_clock_to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # Resolved through UTC so a wall time skipped by a spring change lands just after the gap.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
