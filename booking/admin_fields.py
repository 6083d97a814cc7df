"""Reading what staff typed into the venue, room, activity and partner forms. Pure: no I/O.

Each field is checked on its own and each problem is a plain-English message keyed by the field's
name, so the form can show them all at once, next to the fields, with what was typed kept.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from enum import Enum
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from booking.errors import BookingError
from booking.validation import EMAIL_PATTERN, is_ticked

DEFAULT_TIME_ZONE = "Europe/London"
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]+$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_INWARD = re.compile(r"^[0-9][A-Z]{2}$")
MAX_ROW_ID = 2**31 - 1
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  #: all but tab, new line and carriage return
COORDINATE_PLACES = 5  #: about a metre; PostgreSQL's ``real`` keeps no more than that


class InvalidDetails(BookingError):
    """Some fields of a staff form are not right; ``errors`` maps each field to its message."""

    code = "invalid_details"
    message = "Some of the details are not right."
    http_status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values()), None))
        self.errors = errors


class StillInUse(BookingError):
    """Archiving refused: upcoming sessions still need the venue, room or activity."""

    code = "still_in_use"
    http_status = 409


class NotFound(BookingError):
    code = "not_found"
    message = "We could not find that. It may have been removed."
    http_status = 404


def slugify(text: str, max_length: int) -> str:
    """ "St Mary's Hall, Café" -> "st-marys-hall-cafe": lowercase a-z, 0-9 and single hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.replace("'", "")).strip("-")
    return slug[:max_length].rstrip("-")


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"1 {one}" if count == 1 else f"{count} {many or one + 's'}"


class FormReader:
    """Reads one form's fields, collecting a message for each one that is not right."""

    def __init__(self, form: Mapping[str, object]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        """The field as typed, trimmed, without control characters (PostgreSQL refuses NUL in text)."""
        value = self.form.get(name)
        return _CONTROL.sub("", value).strip() if isinstance(value, str) else ""

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def check(self) -> None:
        if self.errors:
            raise InvalidDetails(dict(self.errors))

    def text(self, name: str, label: str, *, max_length: int, missing: str | None = None) -> str:
        """``missing``: the message when it is required and blank; None makes it optional."""
        value = self.raw(name).replace("\r\n", "\n").replace("\r", "\n")
        if not value and missing:
            self.fail(name, missing)
        elif len(value) > max_length:
            self.fail(name, f"{label} must be {max_length:,} characters or fewer")
        return value

    def whole_number(self, name: str, label: str, *, minimum: int, maximum: int, missing: str) -> int:
        value = self.raw(name).replace(",", "")
        if not value:
            self.fail(name, missing)
            return minimum
        if not re.fullmatch(r"-?[0-9]{1,9}", value):
            self.fail(name, f"{label} must be a whole number between {minimum:,} and {maximum:,}")
            return minimum
        number = int(value)
        if not minimum <= number <= maximum:
            self.fail(name, f"{label} must be between {minimum:,} and {maximum:,}")
        return number

    def ticked(self, name: str) -> bool:
        return is_ticked(self.form.get(name))

    def choice(self, name: str, choices: type[Enum], missing: str) -> str:
        value = self.raw(name)
        if value not in {choice.value for choice in choices}:
            self.fail(name, missing)
        return value

    def optional_id(self, name: str, wrong: str) -> int | None:
        value = self.raw(name)
        if not value:
            return None
        if not re.fullmatch(r"[0-9]{1,10}", value) or not 0 < int(value) <= MAX_ROW_ID:
            self.fail(name, wrong)
            return None
        return int(value)

    def slug(self, name: str, *, max_length: int) -> str:
        """Blank means "make one from the name" (the caller does, as it must be unique)."""
        value = self.raw(name).lower()
        if value and (len(value) > max_length or not SLUG_PATTERN.match(value)):
            self.fail(
                name,
                f"The web address name must be {max_length} characters or fewer, using only lowercase letters a to z, "
                "numbers and hyphens, like st-marys-hall. Leave it blank to make one from the name",
            )
        return value

    def postcode(self, name: str) -> str:
        compact = re.sub(r"\s+", "", self.raw(name)).upper()
        if not compact:
            self.fail(name, "Enter the postcode")
            return ""
        if len(compact) < 5 or len(compact) > 7 or not (_INWARD.match(compact[-3:]) and _OUTWARD.match(compact[:-3])):
            self.fail(name, "Enter a real UK postcode, like WS11 1DB")
            return self.raw(name)[:10]
        return f"{compact[:-3]} {compact[-3:]}"

    def time_zone(self, name: str) -> str:
        value = self.raw(name) or DEFAULT_TIME_ZONE
        if value not in _time_zones():
            self.fail(name, f"Enter a time zone name from the IANA list, like {DEFAULT_TIME_ZONE}")
        return value

    def phone(self, name: str) -> str:
        value = self.raw(name)
        digits = sum(character.isdigit() for character in value)
        if value and (len(value) > 40 or not PHONE_PATTERN.match(value) or not 3 <= digits <= 15):
            self.fail(
                name, "Enter a phone number using only numbers, spaces, brackets, hyphens and +, like 01543 123456"
            )
        return value

    def email(self, name: str) -> str:
        value = self.raw(name)
        if value and (len(value) > 320 or not EMAIL_PATTERN.match(value)):
            self.fail(name, "Enter an email address in the right format, like name@example.org")
        return value

    def website(self, name: str) -> str:
        value = self.raw(name)
        if not value:
            return ""
        try:
            parts = urlsplit(value)
            host = parts.hostname or ""
        except ValueError:
            parts, host = None, ""
        if (
            len(value) > 300
            or parts is None
            or parts.scheme not in {"http", "https"}
            or "." not in host
            or any(character.isspace() for character in value)
        ):
            self.fail(name, "Enter a web address starting with https:// or http://, like https://www.example.org")
        return value

    def coordinate(self, name: str, label: str, limit: float) -> float | None:
        value = self.raw(name)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not -limit <= number <= limit:
            self.fail(name, f"{label} must be a number between -{limit:g} and {limit:g}, like 52.71")
            return None
        return round(number, COORDINATE_PLACES)
