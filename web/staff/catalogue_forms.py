"""What the venue, room, activity and partner pages share: the form body, notices, and filling in a form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

FormData = URLEncodedBody[dict[str, str]]

#: ``?notice=`` after a redirect -> the success banner
NOTICES = {
    "created": "Added.",
    "saved": "Your changes are saved.",
    "unchanged": "Nothing was changed.",
    "archived": "Archived. Residents no longer see it.",
    "unarchived": "Brought back. Residents can see it again.",
}


def notice_text(key: str) -> str | None:
    return NOTICES.get(key)


def page(template: str, status_code: int = 200, **context: Any) -> Template:
    context.setdefault("errors", {})
    context.setdefault("form", {})
    context.setdefault("problem", None)
    return Template(template_name=f"staff/{template}", context=context, status_code=status_code)


def see_other(url: str) -> Redirect:
    return Redirect(url, status_code=HTTP_303_SEE_OTHER)


def form_values(row: Mapping[str, Any], fields: Iterable[str]) -> dict[str, str]:
    """A stored row as the strings its form shows: a ticked box is "yes", nothing is ""."""
    values = {}
    for name in fields:
        value = row.get(name)
        if isinstance(value, bool):
            values[name] = "yes" if value else ""
        else:
            values[name] = "" if value is None else str(value)
    return values
