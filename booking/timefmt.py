"""Dates and times in plain words, in the venue's own time zone ("Tuesday 3 March, 10:30am to 11:30am")."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def to_local(instant: datetime, time_zone: str) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be time-zone aware (stored in UTC)")
    return instant.astimezone(ZoneInfo(time_zone))


def format_time(local: datetime) -> str:
    """10:30am, 2pm, 12 noon, 12 midnight."""
    if local.hour == 12 and local.minute == 0:
        return "12 noon"
    if local.hour == 0 and local.minute == 0:
        return "12 midnight"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    if local.minute:
        return f"{hour}:{local.minute:02d}{suffix}"
    return f"{hour}{suffix}"


def format_date(day: date, *, with_year: bool = False) -> str:
    text = f"{day:%A} {day.day} {day:%B}"
    return f"{text} {day.year}" if with_year else text


def format_when(starts_at: datetime, ends_at: datetime, time_zone: str, *, with_year: bool = False) -> str:
    """A session's date and times as a person would say them, in the venue's time zone."""
    start = to_local(starts_at, time_zone)
    end = to_local(ends_at, time_zone)
    text = f"{format_date(start.date(), with_year=with_year)}, {format_time(start)} to {format_time(end)}"
    if end.date() != start.date():
        text = f"{format_date(start.date(), with_year=with_year)}, {format_time(start)} to {format_date(end.date(), with_year=with_year)}, {format_time(end)}"
    return text


def iso_local(instant: datetime, time_zone: str) -> str:
    """For <time datetime="..."> attributes: ISO 8601 with the local offset."""
    return to_local(instant, time_zone).isoformat()
