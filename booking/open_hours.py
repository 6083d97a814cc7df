"""How many hours a venue is open, read from its free-text opening hours, for room utilisation. Pure.

``Venue.opening_hours`` is free text, one line per day or rule. Lines this module understands:
"Monday 10am to 1pm", "Monday to Friday: 9am to 5pm", "Saturday 10:30am to 12 noon", "Sunday: closed",
"Tuesday 09:00 to 17:30". A day named on no line is closed. When no line can be read at all (or the
text is empty) the venue is assumed open ``ASSUMED_HOURS`` (9am to 5pm, Monday to Friday) and the
report says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT = {name[:3]: index for index, name in enumerate(DAY_NAMES)}
ASSUMED_MINUTES = (480, 480, 480, 480, 480, 0, 0)  #: 9am to 5pm, Monday to Friday
ASSUMED_HOURS = "9am to 5pm, Monday to Friday"

_DAY = r"(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_TIME = r"(\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?|12\s*noon|noon|12\s*midnight|midnight)"
_LINE = re.compile(rf"^\s*{_DAY}(?:\s*(?:to|-|–)\s*{_DAY})?\s*:?\s*(?:{_TIME}\s*(?:to|-|–)\s*{_TIME}|(closed))\s*$")


@dataclass(frozen=True)
class WeeklyHours:
    minutes: tuple[int, ...]  #: minutes open on each weekday, Monday first
    assumed: bool  #: True when the text could not be read and ASSUMED_HOURS stand in

    def open_minutes(self, first: date, last: date) -> int:
        """Minutes open from ``first`` to ``last``, both included."""
        if last < first:
            return 0
        days = (last - first).days + 1
        weeks, rest = divmod(days, 7)
        total = weeks * sum(self.minutes)
        for offset in range(rest):
            total += self.minutes[(first + timedelta(days=offset)).weekday()]
        return total


def _minute_of_day(text: str) -> int | None:
    text = text.replace(" ", "")
    if text in {"noon", "12noon"}:
        return 12 * 60
    if text in {"midnight", "12midnight"}:
        return 24 * 60
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?(am|pm)?", text)
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if minute > 59:
        return None
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif hour > 24:
        return None
    return hour * 60 + minute


def _days(first: str, last: str | None) -> list[int]:
    start = _SHORT[first]
    end = _SHORT[last] if last else start
    days = [start]
    while days[-1] != end:
        days.append((days[-1] + 1) % 7)
    return days


def parse_opening_hours(text: str) -> WeeklyHours:
    """The minutes open per weekday; ``assumed`` when no line of ``text`` could be read."""
    minutes = [0] * 7
    understood = False
    for line in (text or "").lower().splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        first, last, opens, closes, closed = match.groups()
        if closed:
            understood = True
            continue
        start, end = _minute_of_day(opens), _minute_of_day(closes)
        if start is None or end is None or end <= start:
            continue
        understood = True
        for day in _days(first, last):
            minutes[day] += end - start
    if not understood:
        return WeeklyHours(ASSUMED_MINUTES, assumed=True)
    return WeeklyHours(tuple(min(m, 24 * 60) for m in minutes), assumed=False)
