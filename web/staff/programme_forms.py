"""Reading the programme forms: each field checked, with a plain-English message for the one that is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from booking.clashes import MAX_BUFFER_MINUTES
from booking.series import MAX_OCCURRENCES, Frequency, Repeat
from booking.staff_access import MAX_ROW_ID
from booking.validation import is_digits

SKIP_PREFIX = "skip-"  #: a ticked "skip this date" box is named skip-YYYY-MM-DD
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass
class Parsed:
    """The cleaned values and the errors, field by field."""

    values: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def whole(self, name: str, label: str, low: int, high: int, *, default: int | None = None, raw: str = "") -> None:
        text = raw.strip()
        if not text and default is not None:
            self.values[name] = default
            return
        if not text:
            self.errors[name] = f"Enter {label}"
        elif not is_digits(text) or not low <= int(text) <= high:
            self.errors[name] = f"{label[0].upper()}{label[1:]} must be a whole number from {low} to {high}"
        else:
            self.values[name] = int(text)

    def row_id(self, name: str, label: str, raw: str) -> None:
        text = raw.strip()
        if not is_digits(text) or not 0 < int(text) <= MAX_ROW_ID:
            self.errors[name] = f"Choose {label}"
        else:
            self.values[name] = int(text)

    def day(self, name: str, label: str, raw: str) -> None:
        parsed = parse_day(raw)
        if parsed is None:
            self.errors[name] = f"Enter {label} as a real date, like 2027-03-14"
        else:
            self.values[name] = parsed

    def clock(self, name: str, label: str, raw: str) -> None:
        match = _TIME.match(raw.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            self.errors[name] = f"Enter {label} as a time on the 24-hour clock, like 14:30"
        else:
            self.values[name] = time(int(match[1]), int(match[2]))


def parse_day(raw: str) -> date | None:
    text = (raw or "").strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def text(data: dict, name: str, limit: int = 40) -> str:
    return str(data.get(name) or "")[:limit]


def session_fields(data: dict, *, need_date: bool = True) -> Parsed:
    """Room, date, start and end, places and buffers (the one-off, series and edit forms share these)."""
    parsed = Parsed()
    parsed.row_id("room_id", "a room", text(data, "room_id"))
    if need_date:
        parsed.day("date", "the date", text(data, "date"))
    parsed.clock("start", "the start time", text(data, "start"))
    if text(data, "end").strip():  # blank: the activity's usual length (filled in by the handler)
        parsed.clock("end", "the end time", text(data, "end"))
    if "start" in parsed.values and "end" in parsed.values and parsed.values["end"] <= parsed.values["start"]:
        parsed.errors["end"] = "The end time must be after the start time"
    # Blank (0): the activity's usual number of places, up to the room's capacity.
    parsed.whole("capacity", "the number of places", 1, 10_000, default=0, raw=text(data, "capacity"))
    parsed.whole("setup_minutes", "the set-up time", 0, MAX_BUFFER_MINUTES, default=0, raw=text(data, "setup_minutes"))
    parsed.whole(
        "cleardown_minutes", "the clear-down time", 0, MAX_BUFFER_MINUTES, default=0, raw=text(data, "cleardown_minutes")
    )
    return parsed


def duration_minutes(values: dict) -> int:
    start = datetime.combine(date.min, values["start"])
    return int((datetime.combine(date.min, values["end"]) - start) / timedelta(minutes=1))


def repeat_fields(data: dict, parsed: Parsed) -> None:
    """Frequency, a count or an end date, and the dates to skip, into ``parsed.values["repeat"]``."""
    try:
        frequency = Frequency(text(data, "frequency"))
    except ValueError:
        parsed.errors["frequency"] = "Choose how often the session repeats"
        frequency = None
    count_text, until_text = text(data, "count").strip(), text(data, "until").strip()
    count = until = None
    if count_text and until_text:
        parsed.errors["count"] = "Give either the number of sessions or the date of the last one, not both"
    elif count_text:
        parsed.whole("count", "the number of sessions", 1, MAX_OCCURRENCES, raw=count_text)
        count = parsed.values.get("count")
    elif until_text:
        parsed.day("until", "the date of the last session", until_text)
        until = parsed.values.get("until")
    else:
        parsed.errors["count"] = "Enter the number of sessions, or the date of the last one"
    skipped = {parse_day(name[len(SKIP_PREFIX):]) for name, value in data.items() if name.startswith(SKIP_PREFIX) and value}
    for piece in re.split(r"[,\s]+", text(data, "skip_dates", 2000)):
        if piece:
            day = parse_day(piece)
            if day is None:
                parsed.errors["skip_dates"] = f"“{piece[:20]}” is not a date: write dates like 2027-05-31"
            skipped.add(day)
    skipped.discard(None)
    if frequency is not None and (count or until) and "skip_dates" not in parsed.errors:
        parsed.values["repeat"] = Repeat(frequency, count=count, until=until, skipped=frozenset(skipped))
    parsed.values["skipped"] = sorted(skipped)
