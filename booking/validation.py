"""Validate what a resident typed into a booking form or API call. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200
MAX_SUPPORT_NOTE = 500

NO_CONTACT = "Enter an email address or a mobile number, so we can send your booking details"
NO_CHANNEL = "Select how we should contact you about this booking"


@dataclass(frozen=True)
class ResidentDetails:
    """Who is booking. Identified by e-mail (lower-case) or, with no e-mail, by mobile number."""

    name: str
    email: str | None = None
    phone: str | None = None
    #: an explicit opt-in to texts about bookings (needs ``phone``); never assumed, never pre-ticked
    sms_opt_in: bool = False
    #: e-mails about bookings (needs ``email``)
    contact_by_email: bool = True


@dataclass(frozen=True)
class BookingRequest:
    resident: ResidentDetails
    party_size: int
    support_note: str = ""  #: access or support needs, for the staff running the session


@dataclass
class ValidationResult:
    request: BookingRequest | None = None
    errors: dict[str, str] = field(default_factory=dict)  #: field name -> message, in form order

    @property
    def ok(self) -> bool:
        return not self.errors


def is_digits(text: str) -> bool:
    """Only the ASCII digits 0-9: ``str.isdigit`` also accepts "²" and other characters ``int()`` refuses. Pure."""
    return text.isascii() and text.isdigit()


def display_uk_phone(e164: str | None) -> str:
    """A stored UK mobile (+447700900982) as people write it: 07700 900982. Other numbers as stored. Pure."""
    if not e164:
        return ""
    if e164.startswith("+447") and len(e164) == 13:
        national = "0" + e164[3:]
        return f"{national[:5]} {national[5:]}"
    return e164


def normalise_uk_phone(text: str) -> str | None:
    """Return a UK mobile number in E.164 (+447...), or None if it is not one."""
    digits = re.sub(r"[\s\-()]", "", text)
    if digits.startswith("+44"):
        digits = "0" + digits[3:]
    elif digits.startswith("0044"):
        digits = "0" + digits[4:]
    if re.fullmatch(r"07\d{9}", digits):
        return "+44" + digits[1:]
    return None


#: What a ticked checkbox may send; anything else (or nothing) is "not ticked": consent is never assumed.
TICKED = frozenset({"yes", "on", "true", "1"})


def is_ticked(value: object) -> bool:
    """A checkbox or JSON boolean that says yes; ``True`` from JSON, ``"yes"``/``"on"`` from a form."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in TICKED


def validate_booking(
    *,
    name: object,
    email: object,
    phone: object = None,
    party_size: object,
    max_party_size: int,
    sms_opt_in: object = False,
    contact_email: object = True,
    support_note: object = "",
) -> ValidationResult:
    """Check each field and say exactly what is wrong with it, in plain English.

    Also used to join a waiting list, which asks for the same details. ``contact_email`` is the
    "By email" choice (the API leaves it ticked); ``sms_opt_in`` the unticked "By text message" opt-in.
    """
    errors: dict[str, str] = {}
    name_text = str(name or "").strip()
    email_text = str(email or "").strip().lower()
    phone_text = str(phone or "").strip()
    note_text = str(support_note or "").strip()

    if not name_text:
        errors["name"] = "Enter your full name"
    elif len(name_text) > MAX_NAME:
        errors["name"] = f"Full name must be {MAX_NAME} characters or fewer"

    if not email_text and not phone_text:
        errors["email"] = NO_CONTACT
    elif email_text and (len(email_text) > 320 or not EMAIL_PATTERN.match(email_text)):
        errors["email"] = "Enter an email address in the correct format, like name@example.com"

    wants_texts = is_ticked(sms_opt_in)
    wants_email = is_ticked(contact_email) and bool(email_text)  # only a channel the resident gave
    phone_value: str | None = None
    if phone_text:
        phone_value = normalise_uk_phone(phone_text)
        if phone_value is None:
            errors["phone"] = "Enter a UK mobile number, like 07700 900 982"
    elif wants_texts and email_text:
        errors["phone"] = "Enter a mobile number to get texts"
    if not errors.keys() & {"email", "phone"} and not wants_email and not wants_texts:
        errors["contact_email" if email_text else "sms_opt_in"] = NO_CHANNEL

    size: int | None = None
    text_size = str(party_size if party_size is not None else "").strip()
    if isinstance(party_size, bool):
        text_size = ""
    if not text_size:
        errors["party_size"] = "Enter how many places you need"
    else:
        try:
            size = int(text_size)
        except ValueError:
            errors["party_size"] = "Number of places must be a whole number, like 2"
        else:
            if size < 1:
                errors["party_size"] = "Number of places must be 1 or more"
            elif size > max_party_size:
                errors["party_size"] = f"You can book up to {max_party_size} places for this activity"

    if len(note_text) > MAX_SUPPORT_NOTE:
        errors["support_note"] = f"Access or support needs must be {MAX_SUPPORT_NOTE} characters or fewer"

    if errors:
        return ValidationResult(errors=errors)
    assert size is not None
    details = ResidentDetails(
        name_text, email_text or None, phone_value, sms_opt_in=wants_texts, contact_by_email=wants_email
    )
    return ValidationResult(request=BookingRequest(details, size, support_note=note_text))
