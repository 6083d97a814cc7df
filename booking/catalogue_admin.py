"""What the venue, room, activity and partner use cases share: unique web-address names, upcoming sessions."""

from __future__ import annotations

from datetime import datetime

from piccolo.columns import Column
from piccolo.table import Table

from booking.admin_fields import InvalidDetails, StillInUse, slugify
from booking.audit import record_audit
from booking.staff import StaffUser
from booking.states import SessionStatus
from booking.tables import Session


async def free_slug(table: type[Table], wanted: str, *, name: str, exclude_id: int | None, max_length: int) -> str:
    """The slug to store: ``wanted`` if staff typed one (refused if taken), else one made from ``name``.

    A made-up slug gets -2, -3 … until it is free. Call inside the write transaction; the unique index
    still has the last word if two people save at the same moment.
    """
    slug_column = table._meta.get_column_by_name("slug")
    others = table.select(slug_column)
    if exclude_id is not None:
        others = others.where(table._meta.primary_key != exclude_id)
    if wanted:
        if await others.where(slug_column == wanted).first():
            raise InvalidDetails({"slug": f"The web address name {wanted} is already used. Choose another one"})
        return wanted
    base = slugify(name, max_length - 4) or table._meta.tablename
    taken = {row["slug"] for row in await others.where((slug_column == base) | slug_column.like(f"{base}-%"))}
    number = 1
    candidate = base
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def upcoming_scheduled(column: Column, value: int, now: datetime) -> list:
    """Where-clauses for scheduled sessions not yet over, whose ``column`` (e.g. ``Session.room``) is ``value``."""
    return [column == value, Session.status == SessionStatus.SCHEDULED.value, Session.ends_at > now]


async def count_upcoming(column: Column, value: int, now: datetime) -> int:
    return await Session.count().where(*upcoming_scheduled(column, value, now))


def sessions_phrase(count: int) -> str:
    return "1 upcoming session" if count == 1 else f"{count} upcoming sessions"


def them(count: int) -> str:
    return "it" if count == 1 else "them"


async def change_archived(
    actor: StaffUser,
    table: type[Table],
    row_id: int,
    *,
    kind: str,
    name: str,
    archived: bool,
    sessions_of: Column | None,
    venue_id: int | None = None,
    now: datetime,
) -> None:
    """Archive a venue, room, activity or partner (or bring it back), with its audit entry; inside the caller's
    write transaction. Archiving waits until nothing is booked in it: no upcoming sessions whose ``sessions_of``
    column (``Session.room``, ``Session.activity`` …) is this row.
    """
    if archived and sessions_of is not None:
        upcoming = await count_upcoming(sessions_of, row_id, now)
        if upcoming:
            raise StillInUse(
                f"{name} has {sessions_phrase(upcoming)}. Move or cancel {them(upcoming)} before you archive the {kind}."
            )
    await table.update({table._meta.get_column_by_name("archived"): archived}).where(table._meta.primary_key == row_id)
    action, verb = (f"{kind}.archived", "Archived") if archived else (f"{kind}.unarchived", "Brought back")
    await record_audit(
        actor, action, kind, row_id, summary=f"{verb} the {kind} {name}",
        before={"archived": not archived}, after={"archived": archived}, venue_id=venue_id, now=now,
    )
