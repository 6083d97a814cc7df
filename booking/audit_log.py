"""Reading the audit log: filters checked value by value, applied in SQL, newest first, a page at a time."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw

from booking.tables import AuditEntry
from booking.timefmt import format_date, format_time, to_local
from booking.validation import is_digits
from commons.db import is_sqlite

PAGE_SIZE = 50
SHOWN_IN = "Europe/London"  #: the log covers every venue; its dates and times are UK time
DATE_EXAMPLE = "2026-11-02"
_CODE = re.compile(r"^[a-z0-9_.]{1,60}$")  #: actions and subject types: dotted lower-case words

Params = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class AuditFilters:
    staff_email: str = ""  #: part of the e-mail address of who did it
    action: str = ""
    subject_type: str = ""
    venue_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""  #: words in the summary
    page: int = 1

    def query_string(self, page: int | None = None) -> str:
        pairs = [
            (name, value)
            for name, value in (
                ("staff", self.staff_email),
                ("action", self.action),
                ("subject_type", self.subject_type),
                ("venue", "" if self.venue_id is None else str(self.venue_id)),
                ("from", self.date_from.isoformat() if self.date_from else ""),
                ("to", self.date_to.isoformat() if self.date_to else ""),
                ("text", self.text),
            )
            if value
        ]
        if page and page > 1:
            pairs.append(("page", str(page)))
        return urlencode(pairs)


def _first(params: Params, name: str, limit: int = 200) -> str:
    value = params.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        value = next(iter(value), "")
    return str(value).strip()[:limit]


def parse_audit_filters(params: Params, *, venue_choices: Collection[int]) -> tuple[AuditFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict = {"staff_email": _first(params, "staff", 320).lower(), "text": _first(params, "text")}
    for name, key, label in (("action", "action", "an action"), ("subject_type", "subject_type", "a type of record")):
        text = _first(params, name)
        if text and not _CODE.match(text):
            errors[name] = f"Choose {label} from the list"
        elif text:
            values[key] = text
    venue = _first(params, "venue")
    if venue:
        if is_digits(venue) and int(venue) in venue_choices:
            values["venue_id"] = int(venue)
        else:
            errors["venue"] = "Choose a venue from the list"
    for name, key, label in (("from", "date_from", "start"), ("to", "date_to", "end")):
        text = _first(params, name)
        if not text:
            continue
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            errors[name] = f"The {label} date must be a real date, like {DATE_EXAMPLE}"
            continue
        try:
            values[key] = date.fromisoformat(text)
        except ValueError:
            errors[name] = f"The {label} date must be a real date, like {DATE_EXAMPLE}"
    if values.get("date_from") and values.get("date_to") and values["date_to"] < values["date_from"]:
        errors["to"] = "The end date must be the same as or after the start date"
        del values["date_to"]
    page = _first(params, "page")
    values["page"] = int(page) if is_digits(page) and 1 <= int(page) <= 100_000 else 1
    return AuditFilters(**values), errors


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  #: None: the field had no value before (the thing was created)
    after: str | None  #: None: it has none after (the thing was removed)


@dataclass(frozen=True)
class AuditView:
    id: int
    created_at: datetime
    staff_email: str
    staff_name: str
    action: str
    subject_type: str
    subject_id: int | None
    venue_name: str | None
    summary: str
    changes: list[Change]

    @property
    def when(self) -> str:
        """"9:30am on Tuesday 3 March 2026", UK time."""
        local = to_local(self.created_at, SHOWN_IN)
        return f"{format_time(local)} on {format_date(local.date(), with_year=True)}"


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditView]
    total: int
    page: int
    pages: int


def _shown(value) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _load(text: str) -> dict:
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def changes_of(before: str, after: str) -> list[Change]:
    """Before and after (JSON of the changed fields) as "field: old → new" lines. Pure."""
    old, new = _load(before), _load(after)
    names = list(dict.fromkeys([*old, *new]))
    return [
        Change(
            field=name.replace("_", " ").capitalize(),
            before=_shown(old[name]) if name in old else None,
            after=_shown(new[name]) if name in new else None,
        )
        for name in names
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: str, text: str) -> WhereRaw:
    operator = "LIKE" if is_sqlite(AuditEntry._meta.db) else "ILIKE"
    return WhereRaw(f'"audit_entry"."{column}" {operator} {{}} ESCAPE \'\\\'', f"%{_escape_like(text)}%")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(SHOWN_IN))


def _where(filters: AuditFilters) -> list:
    where = []
    if filters.staff_email:
        where.append(_contains("staff_email", filters.staff_email))
    if filters.action:
        where.append(AuditEntry.action == filters.action)
    if filters.subject_type:
        where.append(AuditEntry.subject_type == filters.subject_type)
    if filters.venue_id is not None:
        where.append(AuditEntry.venue == filters.venue_id)
    if filters.date_from:
        where.append(AuditEntry.created_at >= _midnight(filters.date_from))
    if filters.date_to:
        where.append(AuditEntry.created_at < _midnight(filters.date_to + timedelta(days=1)))
    if filters.text:
        where.append(_contains("summary", filters.text))
    return where


async def search_audit(filters: AuditFilters, page_size: int = PAGE_SIZE) -> AuditPage:
    """One page of entries matching ``filters``, newest first, and how many there are (two queries)."""
    where = _where(filters)
    count = AuditEntry.count()
    if where:
        count = count.where(*where)
    total = await count
    pages = max(1, math.ceil(total / page_size))
    page = min(filters.page, pages)
    query = AuditEntry.select(
        AuditEntry.id,
        AuditEntry.created_at,
        AuditEntry.staff_email,
        AuditEntry.staff_member.name.as_alias("staff_name"),
        AuditEntry.action,
        AuditEntry.subject_type,
        AuditEntry.subject_id,
        AuditEntry.venue.name.as_alias("venue_name"),
        AuditEntry.summary,
        AuditEntry.before,
        AuditEntry.after,
    )
    if where:
        query = query.where(*where)
    rows = (
        await query.order_by(AuditEntry.created_at, ascending=False)
        .order_by(AuditEntry.id, ascending=False)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    entries = [
        AuditView(
            id=row["id"], created_at=row["created_at"], staff_email=row["staff_email"],
            staff_name=row["staff_name"] or "", action=row["action"], subject_type=row["subject_type"],
            subject_id=row["subject_id"], venue_name=row["venue_name"], summary=row["summary"],
            changes=changes_of(row["before"], row["after"]),
        )
        for row in rows
    ]
    return AuditPage(entries, total, page, pages)


async def audit_choices() -> tuple[list[str], list[str]]:
    """The actions and the types of record in the log, for the filter lists."""
    actions = await AuditEntry.select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    types = await AuditEntry.select(AuditEntry.subject_type).distinct().order_by(AuditEntry.subject_type)
    return [row["action"] for row in actions], [row["subject_type"] for row in types]
