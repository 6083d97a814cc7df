"""Demo data: Staffordshire's eight community managed libraries and four weeks of their programme.

The libraries, postcode districts and partners are real; street addresses, coordinates, rooms and
the timetable are illustrative, and phone numbers come from Ofcom's range reserved for drama
(01632 960xxx). Everything is deterministic: the same ``today`` always gives the same sessions.
A few sessions start out full or nearly full (``FULL``, ``NEARLY_FULL``: places counted as booked,
with no residents behind them) so that search filters and the waiting list have something to show.
"""

from __future__ import annotations

from calendar import FRIDAY, MONDAY, SATURDAY, THURSDAY, TUESDAY, WEDNESDAY
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from booking.states import ActivityCategory as Cat
from booking.states import SessionStatus
from booking.tables import Activity, Partner, Room, Session, Venue
from commons.db import write_transaction

TIME_ZONE = "Europe/London"
WEEKS = 4


class PartnerRow(NamedTuple):
    key: str  #: only used to link activities below; partners have no slug
    name: str
    website: str
    description: str


class ActivityRow(NamedTuple):
    slug: str
    title: str
    category: Cat
    partner: str
    max_party_size: int
    description: str
    booking_opens_days: int = 28
    booking_closes_hours: int = 1
    max_active_bookings: int = 0  #: 0: no limit


class VenueRow(NamedTuple):
    slug: str
    name: str
    address: str
    postcode: str
    latitude: float
    longitude: float
    phone: str
    opening_hours: str
    accessibility: str


class RoomRow(NamedTuple):
    venue: str
    name: str
    capacity: int
    step_free_access: bool
    hearing_loop: bool
    accessible_toilet: bool
    notes: str = ""


class Slot(NamedTuple):
    """A weekly session: every ``weekday`` at ``start`` (local time) for ``minutes``."""

    venue: str
    room: str
    activity: str
    weekday: int
    start: str
    minutes: int
    capacity: int


PARTNERS = (
    PartnerRow("mpft", "Midlands Partnership NHS Foundation Trust", "https://www.mpft.nhs.uk",
               "Recruits and supports the volunteers who run the community managed libraries and their wellbeing programme."),
    PartnerRow("council", "Staffordshire County Council", "https://www.staffordshire.gov.uk",
               "Provides the library buildings, books and infrastructure."),
    PartnerRow("advice", "Citizens Advice Staffordshire", "https://www.citizensadvice.org.uk",
               "Free, confidential advice on work, money, benefits and housing."),
    PartnerRow("walks", "Walking for Health Staffordshire", "https://www.walkingforhealth.org.uk",
               "Short, friendly walks led by trained volunteers."),
    PartnerRow("volunteers", "Staffordshire Libraries volunteers", "https://www.staffordshire.gov.uk/libraries",
               "Library volunteers who host reading groups, crafts and digital help."),
)

ACTIVITIES = (
    ActivityRow("chair-yoga", "Chair yoga", Cat.YOGA_AND_MOVEMENT, "mpft", 2,
                "Gentle stretches and breathing, all done sitting down or holding a chair. No experience needed."),
    ActivityRow("gentle-yoga", "Gentle yoga", Cat.YOGA_AND_MOVEMENT, "mpft", 2,
                "A slow, beginners' class on mats. Bring a mat if you have one; we have a few to borrow."),
    ActivityRow("health-walk", "Health walk from the library", Cat.YOGA_AND_MOVEMENT, "walks", 4,
                "A 45-minute walk at an easy pace, then tea back at the library."),
    ActivityRow("nhs-health-check", "NHS Health Check", Cat.HEALTH_CHECK, "mpft", 1,
                "A 30-minute check of heart, kidney and diabetes risk for adults aged 40 to 74.", 21, 3, 1),
    ActivityRow("blood-pressure-check", "Blood pressure check", Cat.HEALTH_CHECK, "mpft", 1,
                "A quick, private blood pressure reading with a trained volunteer, and advice on what it means.", 14, 2, 1),
    ActivityRow("job-club", "Job club", Cat.JOB_CLUB, "advice", 2,
                "Help with CVs, job searches, applications and Universal Credit journals.", 28, 1, 2),
    ActivityRow("reading-well", "Reading Well book group", Cat.READING_GROUP, "volunteers", 2,
                "We talk about a book from the Reading Well list, chosen by health professionals."),
    ActivityRow("shared-reading", "Shared Reading", Cat.READING_GROUP, "volunteers", 2,
                "A story and a poem read aloud together, with time to talk. Nothing to read beforehand."),
    ActivityRow("craft-workshop", "Craft workshop", Cat.CRAFT, "volunteers", 4,
                "A different make each week; all materials provided. Children welcome with an adult."),
    ActivityRow("digital-drop-in", "Digital skills drop-in", Cat.DIGITAL_SKILLS, "council", 2,
                "Bring your phone, tablet or laptop: email, video calls, the NHS App, staying safe online.", 14, 2, 0),
    ActivityRow("information-for-wellbeing", "Information for Wellbeing course", Cat.WELLBEING_COURSE, "mpft", 2,
                "Finding and judging trustworthy health information, with workbook exercises and group discussion.",
                28, 24, 2),
    ActivityRow("knit-and-natter", "Knit and natter", Cat.SOCIAL, "volunteers", 4,
                "Bring what you are making, or learn to knit. Tea, biscuits and good company."),
)

_WEEKDAYS = "Monday 10am to 1pm\nTuesday 10am to 5pm\nWednesday 10am to 5pm\nThursday 10am to 5pm\nFriday 10am to 5pm"
_WEEKDAYS_AND_SATURDAY = _WEEKDAYS + "\nSaturday 10am to 1pm"

VENUES = (
    VenueRow("barton-under-needwood", "Barton-under-Needwood Library", "Dunstall Road\nBarton-under-Needwood\nBurton upon Trent",
             "DE13 8AX", 52.7620, -1.7210, "01632 960001", _WEEKDAYS_AND_SATURDAY,
             "Free parking with two blue badge spaces by the door.\nLevel entrance with an automatic door; everything is on the ground floor."),
    VenueRow("baswich", "Baswich Library", "Lynton Avenue\nWeeping Cross\nStafford",
             "ST17 0EA", 52.7950, -2.0800, "01632 960002", _WEEKDAYS,
             "Blue badge parking in the shopping centre car park, 30 metres away.\nLevel entrance; all rooms are on the ground floor."),
    VenueRow("brewood", "Brewood Library", "Newport Street\nBrewood\nStafford",
             "ST19 9DT", 52.6770, -2.1730, "01632 960003", _WEEKDAYS,
             "Street parking only.\nTwo steps at the entrance: a portable ramp is available, please ask when you book.\nThere is no accessible toilet; the nearest is at the village hall, 200 metres away."),
    VenueRow("glascote", "Glascote Library", "Caledonian\nGlascote\nTamworth",
             "B77 2ED", 52.6290, -1.6740, "01632 960004", _WEEKDAYS_AND_SATURDAY,
             "Car park with blue badge spaces at the front.\nLevel entrance and a lift to every floor. Assistance dogs welcome."),
    VenueRow("heath-hayes", "Heath Hayes Library", "Hednesford Road\nHeath Hayes\nCannock",
             "WS12 3EA", 52.6880, -1.9950, "01632 960005", _WEEKDAYS,
             "Small car park with one blue badge space; buses stop outside.\nLevel entrance with a ramp and handrail."),
    VenueRow("hednesford", "Hednesford Library", "Market Street\nHednesford\nCannock",
             "WS12 1AD", 52.7100, -2.0010, "01632 960006", _WEEKDAYS_AND_SATURDAY,
             "Pay and display car park behind the library, with blue badge spaces.\nLevel entrance from Market Street; a lift to the community room."),
    VenueRow("holmcroft", "Holmcroft Library", "Holmcroft Road\nStafford",
             "ST16 1JG", 52.8200, -2.1250, "01632 960007", _WEEKDAYS,
             "Free parking.\nLevel entrance. The quiet room is upstairs with no lift; tell us when you book and we will move downstairs."),
    VenueRow("norton-canes", "Norton Canes Library", "Burntwood Road\nNorton Canes\nCannock",
             "WS11 9RF", 52.6720, -1.9680, "01632 960008", _WEEKDAYS_AND_SATURDAY,
             "Free parking with blue badge spaces.\nLevel entrance; all rooms are on the ground floor."),
)

_PRIVATE = "A private room for one-to-one appointments."

ROOMS = (
    RoomRow("barton-under-needwood", "Community room", 20, True, True, True),
    RoomRow("barton-under-needwood", "Meeting room", 10, True, False, True),
    RoomRow("baswich", "Activity room", 25, True, True, True),
    RoomRow("baswich", "Study room", 6, True, False, True, _PRIVATE),
    RoomRow("brewood", "Community room", 16, False, True, False,
            "Two steps at the entrance; a portable ramp is available, please ask."),
    RoomRow("glascote", "Community room", 30, True, True, True),
    RoomRow("glascote", "IT suite", 10, True, False, True),
    RoomRow("glascote", "Consultation room", 2, True, False, True, _PRIVATE),
    RoomRow("heath-hayes", "Community room", 20, True, True, True),
    RoomRow("heath-hayes", "Quiet room", 8, True, False, True, _PRIVATE),
    RoomRow("hednesford", "Community room", 24, True, True, True),
    RoomRow("hednesford", "Consultation room", 2, True, False, True, _PRIVATE),
    RoomRow("hednesford", "Computer corner", 8, True, False, True, "Part of the main library floor; it can be noisy."),
    RoomRow("holmcroft", "Community room", 20, True, True, True),
    RoomRow("holmcroft", "Quiet room", 6, False, False, False, "Upstairs, no lift."),
    RoomRow("norton-canes", "Community room", 18, True, True, True),
    RoomRow("norton-canes", "Meeting room", 8, True, False, True, _PRIVATE),
)


def appointments(venue: str, room: str, activity: str, weekday: int, first: str, count: int) -> tuple[Slot, ...]:
    """Back-to-back 30-minute, one-person appointments (health checks)."""
    start = datetime.combine(date.min, time.fromisoformat(first))
    return tuple(
        Slot(venue, room, activity, weekday, f"{start + timedelta(minutes=30 * n):%H:%M}", 30, 1)
        for n in range(count)
    )


PROGRAMME = (
    Slot("barton-under-needwood", "Community room", "health-walk", TUESDAY, "10:00", 90, 12),
    Slot("barton-under-needwood", "Meeting room", "shared-reading", TUESDAY, "14:00", 90, 8),
    Slot("barton-under-needwood", "Community room", "chair-yoga", THURSDAY, "10:30", 60, 12),
    Slot("barton-under-needwood", "Community room", "craft-workshop", SATURDAY, "10:30", 90, 12),

    Slot("baswich", "Activity room", "chair-yoga", MONDAY, "10:30", 60, 15),
    Slot("baswich", "Activity room", "information-for-wellbeing", WEDNESDAY, "14:00", 120, 12),
    Slot("baswich", "Activity room", "gentle-yoga", WEDNESDAY, "18:30", 60, 12),
    Slot("baswich", "Study room", "digital-drop-in", THURSDAY, "10:00", 120, 6),
    *appointments("baswich", "Study room", "blood-pressure-check", FRIDAY, "10:00", 3),

    Slot("brewood", "Community room", "reading-well", TUESDAY, "10:00", 90, 10),
    Slot("brewood", "Community room", "gentle-yoga", WEDNESDAY, "10:30", 60, 12),
    Slot("brewood", "Community room", "knit-and-natter", WEDNESDAY, "14:00", 120, 14),
    Slot("brewood", "Community room", "job-club", FRIDAY, "14:00", 120, 8),

    Slot("glascote", "IT suite", "job-club", MONDAY, "14:00", 120, 10),
    Slot("glascote", "IT suite", "digital-drop-in", TUESDAY, "17:30", 90, 10),
    *appointments("glascote", "Consultation room", "nhs-health-check", TUESDAY, "10:00", 4),
    Slot("glascote", "Community room", "chair-yoga", TUESDAY, "10:30", 60, 16),
    Slot("glascote", "Community room", "information-for-wellbeing", THURSDAY, "14:00", 120, 14),
    Slot("glascote", "Community room", "craft-workshop", SATURDAY, "10:00", 120, 20),

    Slot("heath-hayes", "Community room", "gentle-yoga", MONDAY, "10:00", 60, 12),
    Slot("heath-hayes", "Community room", "knit-and-natter", MONDAY, "11:30", 90, 15),
    Slot("heath-hayes", "Quiet room", "digital-drop-in", WEDNESDAY, "10:30", 90, 6),
    *appointments("heath-hayes", "Quiet room", "blood-pressure-check", THURSDAY, "10:00", 3),
    Slot("heath-hayes", "Quiet room", "job-club", FRIDAY, "10:00", 120, 8),

    Slot("hednesford", "Community room", "chair-yoga", TUESDAY, "10:30", 60, 14),
    Slot("hednesford", "Computer corner", "job-club", TUESDAY, "14:00", 120, 8),
    *appointments("hednesford", "Consultation room", "nhs-health-check", WEDNESDAY, "10:00", 4),
    Slot("hednesford", "Community room", "reading-well", THURSDAY, "13:30", 90, 12),
    Slot("hednesford", "Community room", "knit-and-natter", THURSDAY, "18:00", 90, 15),
    Slot("hednesford", "Computer corner", "digital-drop-in", FRIDAY, "10:00", 120, 6),
    Slot("hednesford", "Community room", "craft-workshop", SATURDAY, "10:00", 120, 16),

    Slot("holmcroft", "Community room", "health-walk", MONDAY, "10:00", 90, 15),
    Slot("holmcroft", "Quiet room", "digital-drop-in", WEDNESDAY, "10:30", 90, 6),
    Slot("holmcroft", "Quiet room", "shared-reading", THURSDAY, "10:30", 90, 6),
    Slot("holmcroft", "Community room", "chair-yoga", THURSDAY, "14:00", 60, 12),
    Slot("holmcroft", "Community room", "knit-and-natter", FRIDAY, "13:30", 120, 14),

    Slot("norton-canes", "Community room", "gentle-yoga", TUESDAY, "13:30", 60, 12),
    Slot("norton-canes", "Community room", "shared-reading", MONDAY, "18:00", 90, 10),
    Slot("norton-canes", "Meeting room", "job-club", WEDNESDAY, "10:00", 120, 8),
    *appointments("norton-canes", "Meeting room", "blood-pressure-check", THURSDAY, "10:00", 3),
    Slot("norton-canes", "Community room", "reading-well", FRIDAY, "10:30", 90, 10),
    Slot("norton-canes", "Community room", "craft-workshop", SATURDAY, "10:00", 120, 14),
)


#: (venue, activity, local start) -> the weeks (0 = the first) in which that session is already full, so the
#: demo shows "Full" and the waiting list. None of them is the first session of a day, which is what a
#: resident (and the browser tests) would pick first.
FULL = {
    ("hednesford", "chair-yoga", "10:30"): (0,),
    ("glascote", "nhs-health-check", "10:30"): (0, 1),
    ("brewood", "knit-and-natter", "14:00"): (0,),
    ("norton-canes", "gentle-yoga", "13:30"): (1,),
}
#: The same, for sessions with only two places left.
NEARLY_FULL = {
    ("baswich", "chair-yoga", "10:30"): (0, 1),
    ("holmcroft", "knit-and-natter", "13:30"): (0,),
}


def _already_booked(slot: Slot, week: int) -> int:
    key = (slot.venue, slot.activity, slot.start)
    if week in FULL.get(key, ()):
        return slot.capacity
    if week in NEARLY_FULL.get(key, ()):
        return max(slot.capacity - 2, 0)
    return 0


def occurrences(slot: Slot, today: date, time_zone: str) -> list[tuple[datetime, datetime]]:
    """The slot's (start, end) in UTC on each matching day of the four weeks after ``today``.

    The local wall-clock time is fixed, so the UTC time moves by an hour across a clock change.
    """
    zone = ZoneInfo(time_zone)
    days = (today + timedelta(days=n) for n in range(1, 7 * WEEKS + 1))
    starts = [
        datetime.combine(day, time.fromisoformat(slot.start), tzinfo=zone)
        for day in days
        if day.weekday() == slot.weekday
    ]
    return [(s.astimezone(timezone.utc), (s + timedelta(minutes=slot.minutes)).astimezone(timezone.utc)) for s in starts]


async def seed_demo(force: bool = False, *, today: date | None = None) -> bool:
    """Load the demo libraries and programme. Returns False, loading nothing, if venues exist and not ``force``.

    With ``force`` it adds whatever of the demo is missing: venues, partners and activities that are
    already there (by slug or name) are left as they are, so seeding twice never duplicates anything.
    """
    today = today or datetime.now(ZoneInfo(TIME_ZONE)).date()
    now = datetime.now(timezone.utc)
    async with write_transaction(Venue._meta.db):
        if not force and await Venue.exists():
            return False
        partner_ids = await _ensure_partners(now)
        activity_ids = await _ensure_activities(partner_ids)
        existing = {row["slug"] for row in await Venue.select(Venue.slug)}
        for venue in VENUES:
            if venue.slug not in existing:
                await _add_venue(venue, activity_ids, today, now)
    return True


async def _ensure_partners(now: datetime) -> dict[str, int]:
    ids = {}
    for partner in PARTNERS:
        row = await Partner.select(Partner.id).where(Partner.name == partner.name).first()
        if row is None:
            saved = Partner(name=partner.name, website=partner.website, description=partner.description, created_at=now)
            await saved.save()
            row = {"id": saved.id}
        ids[partner.key] = row["id"]
    return ids


async def _ensure_activities(partner_ids: dict[str, int]) -> dict[str, int]:
    ids = {}
    for activity in ACTIVITIES:
        row = await Activity.select(Activity.id).where(Activity.slug == activity.slug).first()
        if row is None:
            saved = Activity(
                title=activity.title,
                slug=activity.slug,
                category=activity.category.value,
                description=activity.description,
                partner=partner_ids[activity.partner],
                max_party_size=activity.max_party_size,
                booking_opens_days=activity.booking_opens_days,
                booking_closes_hours=activity.booking_closes_hours,
                max_active_bookings=activity.max_active_bookings,
            )
            await saved.save()
            row = {"id": saved.id}
        ids[activity.slug] = row["id"]
    return ids


async def _add_venue(row: VenueRow, activity_ids: dict[str, int], today: date, now: datetime) -> None:
    venue = Venue(
        name=row.name,
        slug=row.slug,
        address=row.address,
        postcode=row.postcode,
        latitude=row.latitude,
        longitude=row.longitude,
        time_zone=TIME_ZONE,
        opening_hours=row.opening_hours,
        phone=row.phone,
        accessibility=row.accessibility,
        created_at=now,
    )
    await venue.save()
    room_ids = {}
    for room in (r for r in ROOMS if r.venue == row.slug):
        saved = Room(
            venue=venue.id,
            name=room.name,
            capacity=room.capacity,
            step_free_access=room.step_free_access,
            hearing_loop=room.hearing_loop,
            accessible_toilet=room.accessible_toilet,
            accessibility_notes=room.notes,
        )
        await saved.save()
        room_ids[room.name] = saved.id
    sessions = [
        Session(
            activity=activity_ids[slot.activity],
            room=room_ids[slot.room],
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=slot.capacity,
            booked=_already_booked(slot, week),
            status=SessionStatus.SCHEDULED.value,
            created_at=now,
            updated_at=now,
        )
        for slot in PROGRAMME
        if slot.venue == row.slug
        for week, (starts_at, ends_at) in enumerate(occurrences(slot, today, TIME_ZONE))
    ]
    await Session.insert(*sessions)
