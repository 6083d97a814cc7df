"""Render notification e-mails from the Jinja templates in ``notifications/templates``."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from booking.queries import BookingView

_templates = Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

BOOKING_CONFIRMED = "booking_confirmed"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    template: str
    message_id: str  #: deterministic, so a receiving server can spot a resend


def message_id_for(event_id: str, template: str) -> str:
    return f"<{event_id}.{template}@commons>"


def render_booking_confirmed(booking: BookingView, *, manage_url: str, event_id: str) -> Email:
    """The confirmation a resident gets after booking: what, where, when, how many, and how to cancel."""
    assert booking.resident_email, "only residents with an e-mail address get e-mail"
    context = {"booking": booking, "session": booking.session, "manage_url": manage_url}
    return Email(
        to=booking.resident_email,
        subject=f"Booking confirmed: {booking.session.activity_title}, {booking.session.when} ({booking.reference})",
        text=_templates.get_template(f"{BOOKING_CONFIRMED}.txt").render(context),
        html=_templates.get_template(f"{BOOKING_CONFIRMED}.html").render(context),
        template=BOOKING_CONFIRMED,
        message_id=message_id_for(event_id, BOOKING_CONFIRMED),
    )
