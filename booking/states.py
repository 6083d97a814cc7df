"""Named states and categories: never magic strings in the rest of the code."""

from __future__ import annotations

from enum import Enum


class SessionStatus(str, Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class BookingStatus(str, Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class BookingSource(str, Enum):
    ONLINE = "online"
    API = "api"
    PHONE = "phone"
    IN_PERSON = "in_person"
    WAITLIST = "waitlist"  #: accepted from a waiting-list offer, or booked automatically from the list
    WALK_IN = "walk_in"  #: came to the session without booking; added to the register by staff


class Attendance(str, Enum):
    """What the register says about a confirmed booking."""

    UNMARKED = "unmarked"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class ConsentSource(str, Enum):
    """How the resident agreed to us holding their details for a booking."""

    ONLINE = "online"  #: ticked and submitted the form themselves
    PHONE = "phone"  #: told a member of staff on the phone
    IN_PERSON = "in_person"  #: told a member of staff in person


class StaffRole(str, Enum):
    ADMIN = "admin"  #: everything, every venue
    COORDINATOR = "coordinator"  #: programme, rooms, bookings and reports for their venues
    VOLUNTEER = "volunteer"  #: their venue only: today's sessions, registers, walk-ins, booking on behalf

    @property
    def label(self) -> str:
        return self.value.capitalize()


class StaffLinkPurpose(str, Enum):
    SET_PASSWORD = "set_password"  #: a new account's first password (``commons staff create``)
    RESET_PASSWORD = "reset_password"  #: "forgotten your password?"


class WaitlistMode(str, Enum):
    """What an activity does when places free up for its waiting list."""

    OFFER = "offer"  #: a time-limited offer the resident accepts or declines
    AUTOMATIC = "automatic"  #: book the next person straight away


class WaitlistEntryStatus(str, Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    DECLINED = "declined"
    EXPIRED = "expired"
    REMOVED = "removed"  #: left the list, or booked another way


#: An entry in one of these states holds the resident's place in the queue.
ACTIVE_WAITLIST_STATUSES = (WaitlistEntryStatus.WAITING.value, WaitlistEntryStatus.OFFERED.value)


class WaitlistOfferStatus(str, Enum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class ActivityCategory(str, Enum):
    YOGA_AND_MOVEMENT = "yoga_and_movement"
    HEALTH_CHECK = "health_check"
    JOB_CLUB = "job_club"
    READING_GROUP = "reading_group"
    CRAFT = "craft"
    DIGITAL_SKILLS = "digital_skills"
    WELLBEING_COURSE = "wellbeing_course"
    SOCIAL = "social"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    ActivityCategory.YOGA_AND_MOVEMENT: "Yoga and movement",
    ActivityCategory.HEALTH_CHECK: "Health checks",
    ActivityCategory.JOB_CLUB: "Job clubs",
    ActivityCategory.READING_GROUP: "Reading groups",
    ActivityCategory.CRAFT: "Craft workshops",
    ActivityCategory.DIGITAL_SKILLS: "Digital skills",
    ActivityCategory.WELLBEING_COURSE: "Wellbeing courses",
    ActivityCategory.SOCIAL: "Social groups",
}
