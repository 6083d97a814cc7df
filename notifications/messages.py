"""Render e-mails and texts from the Jinja templates in ``notifications/templates``.

Each message has ``{name}.subject.txt``, ``{name}.txt`` and ``{name}.html`` for e-mail and
``{name}.sms.txt`` for a text. E-mails extend ``_layout`` (the unsubscribe footer); texts are folded
onto one line and end with how to stop them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from booking.timefmt import format_date, format_time, to_local

_loader = PackageLoader("notifications", "templates")
_templates = Environment(
    loader=_loader,
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: Texts are folded onto one line, so a line break next to a tag must stay a space.
_texts = Environment(loader=_loader, autoescape=False, undefined=StrictUndefined)

SMS_STOP = "Reply STOP to stop texts."
SMS_TARGET_LENGTH = 300  #: two GSM-7 segments hold 306 characters


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    template: str
    message_id: str  #: deterministic, so a receiving server can spot a resend
    unsubscribe_url: str = ""  #: for the footer and the List-Unsubscribe header


def message_id_for(event_id: str, template: str, resident_id: int | None = None) -> str:
    """``<{event id}.{template}@commons>``; an event that tells many people adds whose it is."""
    if resident_id is None:
        return f"<{event_id}.{template}@commons>"
    return f"<{event_id}.{template}.{resident_id}@commons>"


def render_email(
    template: str, context: dict[str, Any], *, to: str, message_id: str, unsubscribe_url: str
) -> Email:
    context = {**context, "unsubscribe_url": unsubscribe_url}
    return Email(
        to=to,
        subject=_one_line(_render(f"{template}.subject.txt", context)),
        text=_render(f"{template}.txt", context),
        html=_render(f"{template}.html", context),
        template=template,
        message_id=message_id,
        unsubscribe_url=unsubscribe_url,
    )


def render_sms(template: str, context: dict[str, Any]) -> str:
    """One line of plain text, ending with how to stop texts."""
    return f"{_one_line(_texts.get_template(f'{template}.sms.txt').render(context))} {SMS_STOP}"


def moment(instant: datetime, time_zone: str) -> str:
    """An instant as a person would say it at the venue: "10:30am on Tuesday 14 July"."""
    local = to_local(instant, time_zone)
    return f"{format_time(local)} on {format_date(local.date())}"


def _render(name: str, context: dict[str, Any]) -> str:
    return _templates.get_template(name).render(context)


def _one_line(text: str) -> str:
    return " ".join(text.split())
