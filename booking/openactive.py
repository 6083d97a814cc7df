"""OpenActive open data: physical-activity sessions as RPDE feeds of SessionSeries and ScheduledSession items.

Each item's last published form is kept in ``openactive_item`` with a ``modified`` number taken from one
counter under a lock, so the feeds order by ``(modified, id)`` and an item that changes moves to the end.
``refresh_session`` brings one session (and its series) up to date; ``refresh_feeds`` does every item and
purges deletions older than ``DELETED_RETENTION``. See docs/openactive.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo

from booking.states import ActivityCategory, SessionStatus
from booking.tables import Activity, OpenActiveItem, Partner, Room, Session, Venue
from commons.db import is_sqlite, write_transaction

DELETED_RETENTION = timedelta(days=7)  #: RPDE: deleted items stay in the feed at least this long
PAGE_SIZE = 500
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
ACTIVITY_LIST = "https://openactive.io/activity-list"
ACCESSIBILITY_SUPPORT = "https://openactive.io/accessibility-support"
_LOCK_KEY = 7_007_001  #: pg_advisory_xact_lock key that orders writers of the feed counter


class FeedKind(str, Enum):
    SESSION_SERIES = "session-series"
    SCHEDULED_SESSIONS = "scheduled-sessions"


class ItemState(str, Enum):
    UPDATED = "updated"
    DELETED = "deleted"


ACTIVITY_LIST_FILE = Path(__file__).parent / "openactive_data" / "activity-list.jsonld"
#: The Activity List labels Commons publishes; activity_concept_label returns one of these.
CONCEPT_LABELS = ("Chair Yoga", "Yoga", "Walking", "Group Exercise")


def load_concept_ids(path: Path = ACTIVITY_LIST_FILE, labels: tuple[str, ...] = CONCEPT_LABELS) -> dict[str, str]:
    """Official concept ids by exact prefLabel, from the vendored Activity List; raises if a label is missing."""
    document = json.loads(path.read_text(encoding="utf-8"))
    by_label = {concept["prefLabel"]: concept["id"] for concept in document["concept"]}
    missing = [label for label in labels if label not in by_label]
    if missing:
        raise RuntimeError(f"{path} has no Activity List concept labelled {', '.join(missing)}.")
    return {label: by_label[label] for label in labels}


#: OpenActive Activity List concept ids by prefLabel, copied from the official list (booking/openactive_data/).
CONCEPT_IDS: dict[str, str] = load_concept_ids()

ACCESSIBILITY_SUPPORT_FILE = Path(__file__).parent / "openactive_data" / "accessibility-support.jsonld"
#: Which impairment a room's facility supports: a hearing loop, hearing; step-free access, physical.
SUPPORT_BY_FACILITY = {"hearing_loop": "Hearing impairment", "step_free_access": "Physical impairment"}
#: OpenActive Accessibility Support concept ids by prefLabel, from the official list (booking/openactive_data/).
SUPPORT_IDS: dict[str, str] = load_concept_ids(ACCESSIBILITY_SUPPORT_FILE, tuple(SUPPORT_BY_FACILITY.values()))

#: Only these categories are physical activity; the rest (job clubs, reading groups, craft, health checks…) stay out.
PHYSICAL_CATEGORIES = frozenset({ActivityCategory.YOGA_AND_MOVEMENT})


def activity_concept_label(category: str, title: str) -> str | None:
    """The Activity List prefLabel for an activity, or None when it is not a physical activity."""
    if category not in {c.value for c in PHYSICAL_CATEGORIES}:
        return None
    words = title.lower()
    if "chair" in words and "yoga" in words:
        return "Chair Yoga"
    if "yoga" in words:
        return "Yoga"
    if "walk" in words:
        return "Walking"
    return "Group Exercise"


def activity_concept(category: str, title: str) -> dict | None:
    """The Concept to publish, or None when the activity is not physical."""
    label = activity_concept_label(category, title)
    if label is None:
        return None
    return {"@type": "Concept", "@id": CONCEPT_IDS[label], "prefLabel": label, "inScheme": ACTIVITY_LIST}


@dataclass(frozen=True)
class SessionFacts:
    """What the feeds say about one session, read in one query."""

    session: dict
    activity: dict
    room: dict
    venue: dict
    partner: dict | None


def series_item_id(activity_id: int, room_id: int) -> str:
    """A SessionSeries is one activity in one room: its sessions share place, organiser and accessibility."""
    return f"{activity_id}-{room_id}"


def _iso(instant: datetime, zone: str) -> str:
    # Whole seconds: the data-model validator's DateTime format has no fractions of a second.
    return instant.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def _address(venue: dict) -> dict:
    lines = [line.strip() for line in venue["address"].splitlines() if line.strip()]
    town = lines[-1] if lines else ""
    return {
        "@type": "PostalAddress",
        "streetAddress": ", ".join(lines[:-2] or lines[:1]),
        "addressLocality": lines[-2] if len(lines) >= 3 else town,
        "addressRegion": town,
        "postalCode": venue["postcode"],
        "addressCountry": "GB",
    }


def _place(base_url: str, venue: dict, room: dict) -> dict:
    place = {
        "@type": "Place",
        "@id": f"{base_url}/venues/{venue['slug']}",
        "url": f"{base_url}/venues/{venue['slug']}",
        "name": venue["name"],
        "address": _address(venue),
    }
    if venue["latitude"] is not None and venue["longitude"] is not None:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": venue["latitude"], "longitude": venue["longitude"]}
    if venue["phone"]:
        place["telephone"] = venue["phone"]
    return place


def _organizer(base_url: str, partner: dict | None) -> dict:
    """The partner that runs the activity, else Commons; ``@id`` is an identifier in our namespace, not a page."""
    if partner is None:
        return {
            "@type": "Organization",
            "@id": f"{base_url}/openactive/organizers/commons",
            "name": "Commons",
            "url": f"{base_url}/",
        }
    organizer = {
        "@type": "Organization",
        "@id": f"{base_url}/openactive/organizers/{partner['id']}",
        "name": partner["name"],
    }
    if partner["website"]:
        organizer["url"] = partner["website"]
    return organizer


def _accessibility_notes(room: dict) -> list[str]:
    notes = []
    if room["step_free_access"]:
        notes.append("Step-free access")
    if room["hearing_loop"]:
        notes.append("Hearing loop")
    if room["accessible_toilet"]:
        notes.append("Accessible toilet")
    if room["accessibility_notes"]:
        notes.append(room["accessibility_notes"])
    return notes


def _accessibility_support(room: dict) -> list[dict]:
    """Accessibility Support concepts the room's facilities stand for (none inferred beyond them)."""
    return [
        {"@type": "Concept", "@id": SUPPORT_IDS[label], "inScheme": ACCESSIBILITY_SUPPORT, "prefLabel": label}
        for facility, label in SUPPORT_BY_FACILITY.items()
        if room[facility]
    ]


def session_series_data(base_url: str, facts: SessionFacts, concept: dict) -> dict:
    activity, room, venue = facts.activity, facts.room, facts.venue
    item_id = series_item_id(activity["id"], room["id"])
    url = f"{base_url}/activities/{activity['slug']}"
    data = {
        "@context": "https://openactive.io/",
        "@type": "SessionSeries",
        "@id": f"{base_url}/openactive/session-series/{item_id}",
        "identifier": item_id,
        "name": activity["title"],
        "url": url,
        "activity": [concept],
        # Sessions follow no fixed pattern and are published one by one in the ScheduledSession feed:
        # a PartialSchedule says so (the modelling specification requires eventSchedule or subEvent).
        "eventSchedule": [{"@type": "PartialSchedule", "scheduleTimezone": venue["time_zone"]}],
        "location": _place(base_url, venue, room),
        "organizer": _organizer(base_url, facts.partner),
        "isAccessibleForFree": True,
        "offers": [
            {
                "@type": "Offer",
                "@id": f"{base_url}/openactive/session-series/{item_id}#free",
                "name": "Free",
                "price": 0,
                "priceCurrency": "GBP",
                "url": url,
            }
        ],
    }
    if activity["description"]:
        data["description"] = activity["description"]
    notes = _accessibility_notes(room)
    if notes:
        data["accessibilityInformation"] = ". ".join(notes)
    support = _accessibility_support(room)
    if support:
        data["accessibilitySupport"] = support
    return data


def scheduled_session_data(base_url: str, facts: SessionFacts) -> dict:
    session, activity, room, venue = facts.session, facts.activity, facts.room, facts.venue
    zone = venue["time_zone"]
    remaining = max(session["capacity"] - session["booked"] - session["held"], 0)
    return {
        "@context": "https://openactive.io/",
        "@type": "ScheduledSession",
        "@id": f"{base_url}/openactive/scheduled-sessions/{session['id']}",
        "identifier": session["id"],
        "url": f"{base_url}/sessions/{session['id']}",
        "startDate": _iso(session["starts_at"], zone),
        "endDate": _iso(session["ends_at"], zone),
        "duration": _duration(session["ends_at"] - session["starts_at"]),
        "eventStatus": "https://schema.org/EventScheduled",
        "maximumAttendeeCapacity": session["capacity"],
        "remainingAttendeeCapacity": remaining,
        "superEvent": f"{base_url}/openactive/session-series/{series_item_id(activity['id'], room['id'])}",
    }


def _duration(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes or not hours else "")


def publishable(facts: SessionFacts, now: datetime) -> bool:
    """Scheduled, not over, of a live physical activity: else the feed says deleted."""
    return (
        facts.session["status"] == SessionStatus.SCHEDULED.value
        and facts.session["ends_at"] > now
        and not facts.activity["archived"]
        and not facts.room["archived"]
        and not facts.venue["archived"]
        and activity_concept(facts.activity["category"], facts.activity["title"]) is not None
    )


async def _load_facts(session_ids: list[int] | None, ended_after: datetime | None = None) -> list[SessionFacts]:
    """Sessions with their activity, room, venue and partner: one query per table, not per session."""
    query = Session.select()
    if session_ids is not None:
        query = query.where(Session.id.is_in(session_ids))
    if ended_after is not None:
        query = query.where(Session.ends_at > ended_after)
    sessions = await query
    if not sessions:
        return []
    activities = await _by_id(Activity, {s["activity"] for s in sessions})
    rooms = await _by_id(Room, {s["room"] for s in sessions})
    venues = await _by_id(Venue, {r["venue"] for r in rooms.values()})
    partners = await _by_id(Partner, {a["partner"] for a in activities.values() if a["partner"] is not None})
    return [
        SessionFacts(
            session=s,
            activity=activities[s["activity"]],
            room=rooms[s["room"]],
            venue=venues[rooms[s["room"]]["venue"]],
            partner=partners.get(activities[s["activity"]]["partner"]),
        )
        for s in sessions
    ]


async def _by_id(table, ids: set[int]) -> dict[int, dict]:
    if not ids:
        return {}
    return {row["id"]: row for row in await table.select().where(table.id.is_in(sorted(ids)))}


def feed_items(base_url: str, all_facts: list[SessionFacts], now: datetime) -> dict[tuple[str, str], str | None]:
    """What every feed item touched by these sessions should say: JSON text, or None for deleted."""
    items: dict[tuple[str, str], str | None] = {}
    for facts in all_facts:
        live = publishable(facts, now)
        session_key = (FeedKind.SCHEDULED_SESSIONS.value, str(facts.session["id"]))
        items[session_key] = _dump(scheduled_session_data(base_url, facts)) if live else None
        series_key = (FeedKind.SESSION_SERIES.value, series_item_id(facts.activity["id"], facts.room["id"]))
        if live:
            concept = activity_concept(facts.activity["category"], facts.activity["title"])
            items[series_key] = _dump(session_series_data(base_url, facts, concept))
        else:
            items.setdefault(series_key, None)
    return items


def _dump(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


async def _take_counter() -> int:
    """The highest ``modified`` so far, with writers of the feeds queued behind this transaction on PostgreSQL.

    SQLite's write transaction already admits one writer at a time.
    """
    if not is_sqlite(OpenActiveItem._meta.db):
        await OpenActiveItem.raw("SELECT pg_advisory_xact_lock({})", _LOCK_KEY)
    rows = (
        await OpenActiveItem.select(OpenActiveItem.modified).order_by(OpenActiveItem.modified, ascending=False).limit(1)
    )
    return rows[0]["modified"] if rows else 0


async def _store(items: dict[tuple[str, str], str | None], now: datetime, *, only_known_series: bool) -> int:
    """Write items whose content changed, each with the next ``modified``; returns how many moved."""
    if not items:
        return 0
    counter = await _take_counter()
    moved = 0
    for kind in {kind for kind, _ in items}:
        ids = [item_id for k, item_id in items if k == kind]
        existing = {
            row["item_id"]: row
            for row in await OpenActiveItem.select().where(
                (OpenActiveItem.kind == kind) & OpenActiveItem.item_id.is_in(ids)
            )
        }
        for item_id in sorted(ids):
            data = items[(kind, item_id)]
            row = existing.get(item_id)
            state = ItemState.UPDATED.value if data is not None else ItemState.DELETED.value
            if row is None and data is None:
                continue  # never published: nothing to delete
            if row is not None and row["state"] == state and row["data"] == (data or ""):
                continue
            if only_known_series and kind == FeedKind.SESSION_SERIES.value and data is None:
                continue  # another session of the series may still be live: refresh_feeds decides
            counter += 1
            moved += 1
            values = {
                OpenActiveItem.modified: counter,
                OpenActiveItem.state: state,
                OpenActiveItem.data: data or "",
                OpenActiveItem.changed_at: now,
            }
            if row is None:
                await OpenActiveItem.insert(
                    OpenActiveItem(
                        kind=kind, item_id=item_id, modified=counter, state=state, data=data or "", changed_at=now
                    )
                )
            else:
                await OpenActiveItem.update(values).where(OpenActiveItem.id == row["id"])
    return moved


async def refresh_session(session_id: int, base_url: str, now: datetime | None = None) -> int:
    """Bring one session's ScheduledSession (and its SessionSeries) up to date; returns how many items moved.

    Inside a caller's transaction it joins it, so the feed changes with the session.
    """
    now = now or datetime.now(timezone.utc)
    async with write_transaction(OpenActiveItem._meta.db):
        facts = await _load_facts([session_id])
        return await _store(feed_items(base_url, facts, now), now, only_known_series=True)


async def refresh_feeds(base_url: str, now: datetime | None = None) -> int:
    """Bring every item up to date (new, changed, over or cancelled sessions) and purge old deletions."""
    now = now or datetime.now(timezone.utc)
    async with write_transaction(OpenActiveItem._meta.db):
        # Sessions over for longer than the retention were marked deleted by an earlier refresh, or never published.
        items = feed_items(base_url, await _load_facts(None, ended_after=now - DELETED_RETENTION), now)
        moved = await _store(items, now, only_known_series=False)
        await OpenActiveItem.delete().where(
            (OpenActiveItem.state == ItemState.DELETED.value) & (OpenActiveItem.changed_at < now - DELETED_RETENTION)
        )
        return moved


@dataclass(frozen=True)
class FeedPage:
    items: list[dict]
    next_after: tuple[int, str] | None  #: (modified, id) of the last item, or None when this is the last page


async def read_feed_page(
    kind: FeedKind, after_modified: int | None, after_id: str | None, limit: int = PAGE_SIZE
) -> FeedPage:
    """One RPDE page: items after ``(after_modified, after_id)`` in ``(modified, id)`` order."""
    query = OpenActiveItem.select().where(OpenActiveItem.kind == kind.value)
    if after_modified is not None:
        after_id = after_id or ""
        query = query.where(
            (OpenActiveItem.modified > after_modified)
            | ((OpenActiveItem.modified == after_modified) & (OpenActiveItem.item_id > after_id))
        )
    rows = await query.order_by(OpenActiveItem.modified, OpenActiveItem.item_id).limit(limit)
    items = [
        {
            "state": row["state"],
            "kind": "SessionSeries" if kind is FeedKind.SESSION_SERIES else "ScheduledSession",
            "id": row["item_id"],
            "modified": row["modified"],
            **({"data": json.loads(row["data"])} if row["state"] == ItemState.UPDATED.value else {}),
        }
        for row in rows
    ]
    last = (rows[-1]["modified"], rows[-1]["item_id"]) if rows else None
    return FeedPage(items=items, next_after=last)
