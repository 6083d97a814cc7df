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
    REFERRAL = "referral"  #: booked by a partner's link worker, directly or when the resident confirmed a held place


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
    PARTNER = "partner"  #: a partner organisation's staff (a link worker): referrals for their organisation only

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


class ReferralMode(str, Enum):
    """What a referral does with the places."""

    BOOK = "book"  #: book them straight away
    HOLD = "hold"  #: hold them for some days while the resident confirms through a link


class ReferralStatus(str, Enum):
    CREATED = "created"  #: booked straight away, or holding places until the resident confirms
    ACCEPTED = "accepted"  #: the resident confirmed a held place: it is booked
    EXPIRED = "expired"  #: the hold ran out; its places went back
    CANCELLED = "cancelled"


class ReferralOutcome(str, Enum):
    """What a partner sees about one of their referrals."""

    WAITING = "waiting"  #: holding places until the resident confirms
    BOOKED = "booked"
    ATTENDED = "attended"
    DID_NOT_ATTEND = "did_not_attend"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    NOT_SHARED = "not_shared"  #: the resident did not agree to the partner seeing what happened

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = {
    ReferralOutcome.WAITING: "Waiting for the resident to confirm",
    ReferralOutcome.BOOKED: "Booked",
    ReferralOutcome.ATTENDED: "Attended",
    ReferralOutcome.DID_NOT_ATTEND: "Did not attend",
    ReferralOutcome.EXPIRED: "Not confirmed in time",
    ReferralOutcome.CANCELLED: "Cancelled",
    ReferralOutcome.NOT_SHARED: "Not shared",
}
