"""Staff use cases for venues and their rooms: create, change, archive. Each writes one audit entry.

Archiving hides a venue or room from residents (What's on, venue pages) but keeps its history; it is
refused while upcoming sessions still need it. A room never gets smaller than an upcoming session in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from booking.admin_fields import COORDINATE_PLACES, FormReader, InvalidDetails, NotFound
from booking.audit import changed_fields, record_audit
from booking.catalogue_admin import (
    change_archived,
    free_slug,
    upcoming_scheduled,
)
from booking.staff import StaffUser
from booking.tables import Room, Session, Venue
from booking.timefmt import format_when
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction

VENUE_FIELDS = (
    "name",
    "slug",
    "address",
    "postcode",
    "time_zone",
    "phone",
    "opening_hours",
    "accessibility",
    "latitude",
    "longitude",
)
ROOM_FIELDS = ("name", "capacity", "step_free_access", "hearing_loop", "accessible_toilet", "accessibility_notes")
ROOM_FEATURES = ("step_free_access", "hearing_loop", "accessible_toilet")
MAX_ROOM_CAPACITY = 1000
NAMED_SESSIONS = 5  #: a refusal names this many sessions, then says how many more


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def read_venue(form: Mapping[str, object]) -> dict[str, Any]:
    """The venue's details from a form, or ``InvalidDetails`` naming every field that is not right."""
    reader = FormReader(form)
    values = {
        "name": reader.text("name", "Name", max_length=200, missing="Enter the venue's name"),
        "slug": reader.slug("slug", max_length=100),
        "address": reader.text("address", "Address", max_length=500, missing="Enter the venue's address"),
        "postcode": reader.postcode("postcode"),
        "time_zone": reader.time_zone("time_zone"),
        "phone": reader.phone("phone"),
        "opening_hours": reader.text("opening_hours", "Opening hours", max_length=1000),
        "accessibility": reader.text("accessibility", "Accessibility information", max_length=2000),
        "latitude": reader.coordinate("latitude", "Latitude", 90),
        "longitude": reader.coordinate("longitude", "Longitude", 180),
    }
    if (values["latitude"] is None) != (values["longitude"] is None) and not reader.errors.keys() & {
        "latitude",
        "longitude",
    }:
        missing = "latitude" if values["latitude"] is None else "longitude"
        reader.fail(missing, "Enter both latitude and longitude, or leave both blank")
    reader.check()
    return values


def read_room(form: Mapping[str, object]) -> dict[str, Any]:
    reader = FormReader(form)
    values: dict[str, Any] = {
        "name": reader.text("name", "Name", max_length=200, missing="Enter the room's name"),
        "capacity": reader.whole_number(
            "capacity", "Capacity", minimum=1, maximum=MAX_ROOM_CAPACITY, missing="Enter how many people the room holds"
        ),
    }
    values.update({feature: reader.ticked(feature) for feature in ROOM_FEATURES})
    values["accessibility_notes"] = reader.text("accessibility_notes", "Accessibility notes", max_length=1000)
    reader.check()
    return values


async def _venue_row(venue_id: int) -> dict[str, Any]:
    row = (
        await Venue.select(Venue.id, Venue.archived, *(Venue._meta.get_column_by_name(f) for f in VENUE_FIELDS))
        .where(Venue.id == venue_id)
        .first()
    )
    if row is None:
        raise NotFound("We could not find that venue.")
    for name in ("latitude", "longitude"):  # as stored in a 4-byte real: compare at the precision we keep
        if row[name] is not None:
            row[name] = round(row[name], COORDINATE_PLACES)
    return row


async def create_venue(actor: StaffUser, form: Mapping[str, object], *, now: datetime | None = None) -> int:
    values = read_venue(form)
    async with write_transaction(Venue._meta.db):
        values["slug"] = await free_slug(Venue, values["slug"], name=values["name"], exclude_id=None, max_length=100)
        try:
            rows = await Venue.insert(Venue(**values, created_at=_now(now))).returning(Venue.id)
        except UNIQUE_VIOLATION_ERRORS:
            raise InvalidDetails(
                {"slug": "Someone saved a venue with this web address name just now. Try again"}
            ) from None
        venue_id = rows[0]["id"]
        await record_audit(
            actor,
            "venue.created",
            "venue",
            venue_id,
            summary=f"Added the venue {values['name']}",
            after=values,
            venue_id=venue_id,
            now=now,
        )
    return venue_id


async def update_venue(
    actor: StaffUser, venue_id: int, form: Mapping[str, object], *, now: datetime | None = None
) -> None:
    values = read_venue(form)
    async with write_transaction(Venue._meta.db):
        current = await _venue_row(venue_id)
        values["slug"] = await free_slug(
            Venue, values["slug"], name=values["name"], exclude_id=venue_id, max_length=100
        )
        before, after = changed_fields(current, values)
        if not after:
            return
        try:
            await Venue.update(values).where(Venue.id == venue_id)
        except UNIQUE_VIOLATION_ERRORS:
            raise InvalidDetails(
                {"slug": "Someone saved a venue with this web address name just now. Try again"}
            ) from None
        await record_audit(
            actor,
            "venue.updated",
            "venue",
            venue_id,
            summary=f"Changed the venue {values['name']}: {', '.join(after)}",
            before=before,
            after=after,
            venue_id=venue_id,
            now=now,
        )


async def set_venue_archived(actor: StaffUser, venue_id: int, archived: bool, *, now: datetime | None = None) -> bool:
    """Archive (or bring back) a venue; False if it already was. Archiving waits for no upcoming sessions."""
    now = _now(now)
    async with write_transaction(Venue._meta.db):
        current = await _venue_row(venue_id)
        if current["archived"] == archived:
            return False
        await change_archived(
            actor, Venue, venue_id, kind="venue", name=current["name"], archived=archived,
            sessions_of=Session.room.venue, venue_id=venue_id, now=now,
        )
    return True


async def _room_row(room_id: int) -> dict[str, Any]:
    row = (
        await Room.select(
            Room.id,
            Room.venue,
            Room.archived,
            Room.venue.time_zone.as_alias("time_zone"),
            *(Room._meta.get_column_by_name(f) for f in ROOM_FIELDS),
        )
        .where(Room.id == room_id)
        .first()
    )
    if row is None:
        raise NotFound("We could not find that room.")
    return row


async def _check_room_name_free(venue_id: int, name: str, exclude_id: int | None) -> None:
    query = Room.select(Room.id).where(Room.venue == venue_id, Room.archived == False, Room.name == name)  # noqa: E712
    if exclude_id is not None:
        query = query.where(Room.id != exclude_id)
    if await query.first():
        raise InvalidDetails({"name": f"This venue already has a room called {name}. Give this room another name"})


async def create_room(
    actor: StaffUser, venue_id: int, form: Mapping[str, object], *, now: datetime | None = None
) -> int:
    values = read_room(form)
    async with write_transaction(Room._meta.db):
        venue = await _venue_row(venue_id)
        await _check_room_name_free(venue_id, values["name"], None)
        rows = await Room.insert(Room(venue=venue_id, **values)).returning(Room.id)
        room_id = rows[0]["id"]
        await record_audit(
            actor,
            "room.created",
            "room",
            room_id,
            summary=f"Added the room {values['name']} at {venue['name']}",
            after=values,
            venue_id=venue_id,
            now=now,
        )
    return room_id


async def sessions_needing_more(room_id: int, capacity: int, time_zone: str, now: datetime) -> list[str]:
    """Upcoming scheduled sessions in the room with more places than ``capacity``, as plain words, soonest first."""
    rows = (
        await Session.select(
            Session.activity.title.as_alias("title"), Session.starts_at, Session.ends_at, Session.capacity
        )
        .where(*upcoming_scheduled(Session.room, room_id, now), Session.capacity > capacity)
        .order_by(Session.starts_at)
    )
    return [
        f"{row['title']}, {format_when(row['starts_at'], row['ends_at'], time_zone)} ({row['capacity']} places)"
        for row in rows
    ]


async def update_room(
    actor: StaffUser, room_id: int, form: Mapping[str, object], *, now: datetime | None = None
) -> None:
    """Change a room. The room row is written first, so its lock is held while the sessions are checked."""
    values = read_room(form)
    now = _now(now)
    async with write_transaction(Room._meta.db):
        current = await _room_row(room_id)
        await _check_room_name_free(current["venue"], values["name"], room_id)
        before, after = changed_fields(current, values)
        if not after:
            return
        await Room.update(values).where(Room.id == room_id)
        if values["capacity"] < current["capacity"]:
            too_big = await sessions_needing_more(room_id, values["capacity"], current["time_zone"], now)
            if too_big:
                named = "; ".join(too_big[:NAMED_SESSIONS])
                more = f"; and {len(too_big) - NAMED_SESSIONS} more" if len(too_big) > NAMED_SESSIONS else ""
                raise InvalidDetails(
                    {
                        "capacity": (
                            f"The room cannot hold fewer people than an upcoming session in it has places: {named}{more}. "
                            "Lower those sessions' places or move them first"
                        )
                    }
                )
        await record_audit(
            actor,
            "room.updated",
            "room",
            room_id,
            summary=f"Changed the room {values['name']}: {', '.join(after)}",
            before=before,
            after=after,
            venue_id=current["venue"],
            now=now,
        )


async def set_room_archived(actor: StaffUser, room_id: int, archived: bool, *, now: datetime | None = None) -> bool:
    """Archive (or bring back) a room; False if it already was. Archiving waits for no upcoming sessions."""
    now = _now(now)
    async with write_transaction(Room._meta.db):
        current = await _room_row(room_id)
        if current["archived"] == archived:
            return False
        if not archived:
            await _check_room_name_free(current["venue"], current["name"], room_id)
        await change_archived(
            actor, Room, room_id, kind="room", name=current["name"], archived=archived,
            sessions_of=Session.room, venue_id=current["venue"], now=now,
        )
    return True
