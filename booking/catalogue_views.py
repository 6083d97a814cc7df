"""Read models for the staff pages about venues, rooms, activities and partners (archived ones included)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from booking.tables import Activity, Partner, Room, Venue


async def list_venues(venue_ids: Iterable[int] | None) -> list[dict[str, Any]]:
    """Venues by name (only ``venue_ids`` unless None = every venue), each with ``rooms``. Two queries."""
    query = Venue.select(Venue.id, Venue.name, Venue.slug, Venue.postcode, Venue.archived).order_by(Venue.name)
    if venue_ids is not None:
        ids = list(venue_ids)
        if not ids:
            return []
        query = query.where(Venue.id.is_in(ids))
    venues = await query
    if not venues:
        return []
    rooms = await Room.select().where(Room.venue.is_in([venue["id"] for venue in venues])).order_by(Room.name)
    by_venue: dict[int, list[dict[str, Any]]] = {venue["id"]: [] for venue in venues}
    for room in rooms:
        by_venue[room["venue"]].append(room)
    return [{**venue, "rooms": by_venue[venue["id"]]} for venue in venues]


async def get_venue(venue_id: int) -> dict[str, Any] | None:
    venue = await Venue.select().where(Venue.id == venue_id).first()
    if venue is not None:
        venue["rooms"] = await Room.select().where(Room.venue == venue_id).order_by(Room.name)
    return venue


async def get_room(room_id: int) -> dict[str, Any] | None:
    return (
        await Room.select(
            Room.all_columns(), Room.venue.name.as_alias("venue_name"), Room.venue.archived.as_alias("venue_archived")
        )
        .where(Room.id == room_id)
        .first()
    )


async def list_activities() -> list[dict[str, Any]]:
    return (
        await Activity.select(
            Activity.id,
            Activity.title,
            Activity.slug,
            Activity.category,
            Activity.archived,
            Activity.partner.name.as_alias("partner_name"),
        )
        .order_by(Activity.archived)
        .order_by(Activity.title)
    )


async def get_activity(activity_id: int) -> dict[str, Any] | None:
    return await Activity.select().where(Activity.id == activity_id).first()


async def partner_choices(keep: int | None = None) -> list[dict[str, Any]]:
    """Live partners by name, and the partner ``keep`` (an activity's own) even if it has been archived."""
    query = Partner.select(Partner.id, Partner.name, Partner.archived).order_by(Partner.name)
    if keep is None:
        return await query.where(Partner.archived == False)  # noqa: E712
    return await query.where((Partner.archived == False) | (Partner.id == keep))  # noqa: E712


async def list_partners() -> list[dict[str, Any]]:
    return (
        await Partner.select(
            Partner.id, Partner.name, Partner.website, Partner.contact_email, Partner.phone, Partner.archived
        )
        .order_by(Partner.archived)
        .order_by(Partner.name)
    )


async def get_partner(partner_id: int) -> dict[str, Any] | None:
    return await Partner.select().where(Partner.id == partner_id).first()
