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
