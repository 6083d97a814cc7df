"""The audit log: every staff action, who did it, when, and what changed (before → after).

Write an entry inside the same transaction as the change (``record_audit`` joins the caller's
``write_transaction``), so the log never claims a change that was rolled back nor misses one that
was made. Entries about a resident are blanked when that resident's data is erased.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any

from booking.staff import StaffUser
from booking.tables import AuditEntry
from commons.db import write_transaction

ERASED_SUMMARY = "Personal details removed at the resident's request."


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, on each side. Pure."""
    names = [name for name in after if _plain(before.get(name)) != _plain(after.get(name))]
    return {n: _plain(before.get(n)) for n in names}, {n: _plain(after.get(n)) for n in names}


def _json(fields: dict[str, Any] | None) -> str:
    if not fields:
        return ""
    return json.dumps({name: _plain(value) for name, value in fields.items()}, ensure_ascii=False, sort_keys=True)


async def record_audit(
    actor: StaffUser,
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    venue_id: int | None = None,
    resident_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Record one staff action. ``action`` is dotted (``session.moved``); ``summary`` is one plain line."""
    async with write_transaction(AuditEntry._meta.db):
        await AuditEntry(
            staff_member=actor.id,
            staff_email=actor.email,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            venue=venue_id,
            resident=resident_id,
            summary=summary,
            before=_json(before),
            after=_json(after),
            created_at=now or datetime.now(timezone.utc),
        ).save()


async def erase_resident_from_audit(resident_id: int) -> int:
    """Blank what the log says about a resident (called inside the erasure's transaction)."""
    rows = await AuditEntry.raw(
        "UPDATE audit_entry SET summary = {}, before = '', after = '' WHERE resident = {} RETURNING id",
        ERASED_SUMMARY,
        resident_id,
    )
    return len(rows)
