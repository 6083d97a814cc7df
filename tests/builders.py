"""Small builders for test data: each call makes fresh, unique rows."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone

from booking.service import BookingConfirmation, book_place
from booking.states import ActivityCategory, SessionStatus, WaitlistMode
from booking.tables import Activity, Partner, Room, Session, Venue
from booking.validation import ResidentDetails

_counter = itertools.count(1)
_run = uuid.uuid4().hex[:8]  #: keeps e-mail addresses apart across test runs on one database


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


async def make_venue(**overrides) -> Venue:
    slug = unique("venue")
    venue = Venue(
        name=overrides.pop("name", f"Test Library {slug}"),
        slug=slug,
        address="1 High Street\nHednesford",
        postcode="WS12 1AA",
        latitude=52.71,
        longitude=-2.0,
        time_zone=overrides.pop("time_zone", "Europe/London"),
        created_at=datetime.now(timezone.utc),
        **overrides,
    )
    await venue.save()
    return venue


def daytime_zone(now: datetime | None = None) -> str:
    """A fixed-offset time zone where it is now between 11am and noon: texts are never in quiet hours there.

    For tests that run real workers, which read the real clock: a venue in this zone makes them pass at any hour.
    """
    hour = (now or datetime.now(timezone.utc)).hour
    offset = (11 - hour + 12) % 24 - 12  # -12 … +11 hours from UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # the Etc names' signs are POSIX-inverted


async def make_room(venue: Venue | None = None, capacity: int = 30, **overrides) -> Room:
    venue = venue or await make_venue()
    room = Room(venue=venue.id, name=overrides.pop("name", "Community room"), capacity=capacity, **overrides)
    await room.save()
    return room


async def make_activity(max_party_size: int = 4, **overrides) -> Activity:
    partner = Partner(name=unique("Partner"), created_at=datetime.now(timezone.utc))
    await partner.save()
    activity = Activity(
        title=overrides.pop("title", "Chair yoga"),
        slug=unique("activity"),
        category=overrides.pop("category", ActivityCategory.YOGA_AND_MOVEMENT.value),
        description="Gentle seated yoga.",
        partner=partner.id,
        max_party_size=max_party_size,
        **overrides,
    )
    await activity.save()
    return activity


async def make_session(
    capacity: int = 10,
    *,
    starts_in: timedelta = timedelta(days=2),
    duration: timedelta = timedelta(hours=1),
    max_party_size: int = 4,
    room: Room | None = None,
    activity: Activity | None = None,
    status: SessionStatus = SessionStatus.SCHEDULED,
) -> Session:
    room = room or await make_room(capacity=max(capacity, 30))
    activity = activity or await make_activity(max_party_size=max_party_size)
    start = datetime.now(timezone.utc).replace(microsecond=0) + starts_in
    now = datetime.now(timezone.utc)
    session = Session(
        activity=activity.id,
        room=room.id,
        starts_at=start,
        ends_at=start + duration,
        capacity=capacity,
        booked=0,
        status=status.value,
        created_at=now,
        updated_at=now,
    )
    await session.save()
    return session


def resident(label: str | int) -> ResidentDetails:
    """Resident details; the same label in one run means the same person (the same e-mail)."""
    return ResidentDetails(name=f"Resident {label}", email=f"resident-{label}-{_run}@example.org")


async def make_waitlist_session(
    capacity: int = 4,
    *,
    waitlist_mode: WaitlistMode = WaitlistMode.OFFER,
    starts_in: timedelta = timedelta(days=2),
    max_party_size: int = 4,
) -> Session:
    """A session whose activity offers freed places to its waiting list, or books them automatically."""
    activity = await make_activity(max_party_size=max_party_size, waitlist_mode=WaitlistMode(waitlist_mode).value)
    return await make_session(capacity, starts_in=starts_in, max_party_size=max_party_size, activity=activity)


async def fill_session(session_id: int, places: int, *, party_size: int = 1) -> list[BookingConfirmation]:
    """Book ``places`` places with fresh residents, ``party_size`` each; returns the confirmations."""
    return [await book_place(session_id, resident(unique("filler")), party_size) for _ in range(places // party_size)]
