"""Read models for the activity and venue pages, and an activity's booking rules in plain words."""

from __future__ import annotations

from dataclasses import dataclass

from booking.states import ActivityCategory
from booking.tables import Activity, Room, Venue
from commons.compiled import compiled


def _period(hours: int) -> str:
    if hours % (24 * 7) == 0:
        weeks = hours // (24 * 7)
        return "1 week" if weeks == 1 else f"{weeks} weeks"
    if hours % 24 == 0:
        days = hours // 24
        return "1 day" if days == 1 else f"{days} days"
    return "1 hour" if hours == 1 else f"{hours} hours"


def booking_rules_text(opens_days: int, closes_hours: int, max_party_size: int, max_active_bookings: int) -> list[str]:
    """E.g. ["Booking opens 4 weeks before each session and closes 1 hour before it starts.", ...]."""
    opens = f"Booking opens {_period(opens_days * 24)} before each session"
    closes = "you can book until it starts" if closes_hours <= 0 else f"closes {_period(closes_hours)} before it starts"
    joiner = " and " if closes_hours > 0 else "; "
    lines = [f"{opens}{joiner}{closes}."]
    lines.append("You can book 1 place." if max_party_size == 1 else f"You can book up to {max_party_size} places.")
    if max_active_bookings == 1:
        lines.append("You can have 1 upcoming booking for this activity at a time.")
    elif max_active_bookings > 1:
        lines.append(f"You can have up to {max_active_bookings} upcoming bookings for this activity at a time.")
    return lines


@dataclass(frozen=True)
class ActivityPage:
    title: str
    slug: str
    category: str
    description: str
    partner_name: str | None
    partner_website: str | None
    rules: list[str]

    @property
    def category_label(self) -> str:
        return ActivityCategory(self.category).label


@dataclass(frozen=True)
class RoomFeatures:
    name: str
    step_free_access: bool
    hearing_loop: bool
    accessible_toilet: bool
    accessibility_notes: str


@dataclass(frozen=True)
class VenuePage:
    name: str
    slug: str
    address: str
    postcode: str
    opening_hours: str
    phone: str
    accessibility: str
    rooms: list[RoomFeatures]


async def get_activity_page(slug: str) -> ActivityPage | None:
    """A live (not archived) activity by slug, or None."""
    row = (
        await Activity.select(
            Activity.title,
            Activity.slug,
            Activity.category,
            Activity.description,
            Activity.partner.name.as_alias("partner_name"),
            Activity.partner.website.as_alias("partner_website"),
            Activity.max_party_size,
            Activity.booking_opens_days,
            Activity.booking_closes_hours,
            Activity.max_active_bookings,
        )
        .where(Activity.slug == slug)
        .where(Activity.archived == False)  # noqa: E712
        .first()
    )
    if row is None:
        return None
    rules = booking_rules_text(
        row["booking_opens_days"], row["booking_closes_hours"], row["max_party_size"], row["max_active_bookings"]
    )
    return ActivityPage(
        title=row["title"],
        slug=row["slug"],
        category=row["category"],
        description=row["description"],
        partner_name=row["partner_name"],
        partner_website=row["partner_website"] or None,
        rules=rules,
    )


async def get_venue_page(slug: str) -> VenuePage | None:
    """A live venue by slug with its rooms' access features, or None. Two queries."""
    row = await Venue.select().where(Venue.slug == slug).where(Venue.archived == False).first()  # noqa: E712
    if row is None:
        return None
    rooms = (
        await Room.select(
            Room.name, Room.step_free_access, Room.hearing_loop, Room.accessible_toilet, Room.accessibility_notes
        )
        .where(Room.venue == row["id"])
        .where(Room.archived == False)  # noqa: E712
        .order_by(Room.name)
    )
    return VenuePage(
        name=row["name"],
        slug=row["slug"],
        address=row["address"],
        postcode=row["postcode"],
        opening_hours=row["opening_hours"],
        phone=row["phone"],
        accessibility=row["accessibility"],
        rooms=[RoomFeatures(**room) for room in rooms],
    )


async def list_venue_choices() -> list[tuple[str, str]]:
    """(slug, name) of every live venue, by name: the What's on venue list."""
    query = compiled(
        Venue,
        "venue_choices",
        lambda: Venue.select(Venue.slug, Venue.name).where(Venue.archived == False).order_by(Venue.name),  # noqa: E712
    )
    rows = await query.run({})
    return [(row["slug"], row["name"]) for row in rows]
