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
