"""Piccolo tables of the booking domain. Instants are stored in UTC; each venue names its time zone."""

from piccolo.columns import (
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    OnDelete,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from booking.states import (
    ActivityCategory,
    Attendance,
    BookingSource,
    BookingStatus,
    ConsentSource,
    ReferralMode,
    ReferralStatus,
    SessionStatus,
    StaffLinkPurpose,
    StaffRole,
    WaitlistEntryStatus,
    WaitlistMode,
    WaitlistOfferStatus,
)


class Partner(Table):
    """An organisation that runs or supports activities (an NHS trust, the council, a charity)."""

    name = Varchar(length=200)
    website = Varchar(length=300, default="")
    description = Text(default="")
    created_at = Timestamptz()
    contact_email = Varchar(length=320, default="")
    phone = Varchar(length=40, default="")
    archived = Boolean(default=False)


class Venue(Table):
    name = Varchar(length=200)
    slug = Varchar(length=100, unique=True)
    address = Text()  #: full postal address, one line per part, without the postcode
    postcode = Varchar(length=10)
    latitude = Real(null=True)
    longitude = Real(null=True)
    time_zone = Varchar(length=64, default="Europe/London")  #: IANA name; sessions are shown in this zone
    opening_hours = Text(default="")  #: one line per day or rule, e.g. "Monday to Friday: 9am to 7pm"
    phone = Varchar(length=40, default="")
    accessibility = Text(default="")  #: getting there and getting in: parking, entrances, lifts
    archived = Boolean(default=False)
    created_at = Timestamptz()


class Room(Table):
    venue = ForeignKey(references=Venue, on_delete=OnDelete.restrict)
    name = Varchar(length=200)
    capacity = Integer()
    step_free_access = Boolean(default=False)
    hearing_loop = Boolean(default=False)
    accessible_toilet = Boolean(default=False)
    accessibility_notes = Text(default="")
    archived = Boolean(default=False)


class Activity(Table):
    title = Varchar(length=200)
    slug = Varchar(length=120, unique=True)
    category = Varchar(length=40, choices=ActivityCategory)
    description = Text(default="")
    partner = ForeignKey(references=Partner, null=True, on_delete=OnDelete.set_null)
    max_party_size = Integer(default=4)  #: the most places one booking may take
    archived = Boolean(default=False)
    #: when places free up: offer them to the waiting list, or book the next person automatically
    waitlist_mode = Varchar(length=20, choices=WaitlistMode, default=WaitlistMode.OFFER.value)
    offer_hours = Integer(default=12)  #: in offer mode, how long a resident has to accept a freed place
    #: hours before the start when booked residents are reminded, comma-separated, e.g. "24,2"
    reminder_hours = Varchar(length=40, default="24,2")
    # Booking rules (booking/rules.py): each broken rule has its own message.
    booking_opens_days = Integer(default=28)  #: booking opens this many days before the start
    booking_closes_hours = Integer(default=1)  #: and closes this many hours before it (0: at the start)
    max_active_bookings = Integer(default=0)  #: upcoming bookings one person may hold for it; 0: no limit
    # Defaults for new sessions in the programme (staff can change them per session).
    default_capacity = Integer(default=12)
    default_duration_minutes = Integer(default=60)


class StaffMember(Table):
    """Someone who runs the programme or a register. Signs in at /staff with e-mail and password."""

    email = Varchar(length=320, unique=True)  #: stored lower-case
    name = Varchar(length=200, default="")
    role = Varchar(length=20, choices=StaffRole)
    password_hash = Varchar(length=200, null=True, default=None)  #: argon2id; None until the first password is set
    #: bumped when the password changes or the account is deactivated: every signed-in browser is signed out
    auth_version = Integer(default=1)
    active = Boolean(default=True)
    failed_sign_ins = Integer(default=0)  #: wrong passwords in a row
    locked_until = Timestamptz(null=True, default=None)  #: no sign-in before this, after too many wrong passwords
    last_sign_in_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class StaffVenue(Table):
    """The venues a coordinator or volunteer works at (admins have every venue)."""

    staff_member = ForeignKey(references=StaffMember, on_delete=OnDelete.cascade)
    venue = ForeignKey(references=Venue, on_delete=OnDelete.cascade)


class StaffLink(Table):
    """A one-time link to set a password: for a new account, or to reset a forgotten one."""

    staff_member = ForeignKey(references=StaffMember, on_delete=OnDelete.cascade)
    purpose = Varchar(length=20, choices=StaffLinkPurpose)
    nonce = Varchar(length=32)  #: random; the link carries ``id.mac`` over id and nonce (booking/staff_links.py)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class Series(Table):
    """A repeating set of sessions: an RFC 5545 RRULE in the venue's local time, with skipped dates."""

    activity = ForeignKey(references=Activity, on_delete=OnDelete.restrict)
    room = ForeignKey(references=Room, on_delete=OnDelete.restrict)
    rule = Text()  #: RRULE without DTSTART, e.g. FREQ=WEEKLY;INTERVAL=1;COUNT=10
    first_starts_at = Timestamptz()  #: DTSTART, the first occurrence (UTC; recurs in the venue's local time)
    duration_minutes = Integer()
    capacity = Integer()
    skipped_dates = Text(default="")  #: local dates left out, ISO, comma-separated (bank holidays)
    setup_minutes = Integer(default=0)
    cleardown_minutes = Integer(default=0)
    created_by = ForeignKey(references=StaffMember, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class Session(Table):
    """One occurrence of an activity in a room. ``booked`` only changes through the conditional update.

    On PostgreSQL a trigger keeps the raw column ``room_busy`` (a tstzrange: start less ``setup_minutes``
    to end plus ``cleardown_minutes``) and an exclusion constraint keeps two scheduled sessions in one
    room from overlapping (see the migration); on SQLite ``booking/clashes.py`` checks inside the write
    transaction.
    """

    activity = ForeignKey(references=Activity, on_delete=OnDelete.restrict)
    room = ForeignKey(references=Room, on_delete=OnDelete.restrict)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    capacity = Integer()  #: never more than the room's capacity
    booked = Integer(default=0)  #: places taken by confirmed bookings
    held = Integer(default=0)  #: places held by open waiting-list offers; the public cannot book them
    status = Varchar(length=20, choices=SessionStatus, default=SessionStatus.SCHEDULED.value)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    series = ForeignKey(references=Series, null=True, default=None, on_delete=OnDelete.set_null)
    setup_minutes = Integer(default=0)  #: the room is busy this long before the start
    cleardown_minutes = Integer(default=0)  #: and this long after the end


class Resident(Table):
    """A person who books. Identified by e-mail (stored lower-case) or, failing that, by phone."""

    name = Varchar(length=200)
    email = Varchar(length=320, null=True, default=None)
    phone = Varchar(length=32, null=True, default=None)  #: E.164, e.g. +447700900123
    contact_by_email = Boolean(default=True)
    contact_by_sms = Boolean(default=False)
    sms_consent_at = Timestamptz(null=True, default=None)  #: when the resident opted in to texts
    sms_opted_out_at = Timestamptz(null=True, default=None)  #: when they replied STOP (consent withdrawn)
    email_opted_out_at = Timestamptz(null=True, default=None)  #: when they used an e-mail's unsubscribe link
    created_at = Timestamptz()
    #: part of the private calendar feed link; adding one revokes every earlier link
    calendar_feed_version = Integer(default=1)
    #: set when the resident deleted their data: name, e-mail and phone are gone, bookings stay for statistics
    erased_at = Timestamptz(null=True, default=None)


class Booking(Table):
    reference = Varchar(length=8, unique=True)  #: human-friendly, e.g. K7P-3QX
    session = ForeignKey(references=Session, on_delete=OnDelete.restrict)
    resident = ForeignKey(references=Resident, on_delete=OnDelete.restrict)
    party_size = Integer()
    status = Varchar(length=20, choices=BookingStatus, default=BookingStatus.CONFIRMED.value)
    source = Varchar(length=20, choices=BookingSource, default=BookingSource.ONLINE.value)
    manage_token_hash = Varchar(length=64)  #: sha256 of the secret manage token; cleared to revoke
    created_at = Timestamptz()
    cancelled_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(default="")
    #: what the resident told staff about access or support needs; erased with the resident's data
    support_note = Text(default="")
    #: sha256 of the key in the booking form: a repeated submission finds this booking instead of making another
    idempotency_key_hash = Varchar(length=64, null=True, default=None)  #: unique where set (raw index)
    #: how the resident agreed to us holding their details: online, or told staff by phone or in person
    consent_source = Varchar(length=20, choices=ConsentSource, default=ConsentSource.ONLINE.value)
    booked_by = ForeignKey(references=StaffMember, null=True, default=None, on_delete=OnDelete.set_null)
    attendance = Varchar(length=20, choices=Attendance, default=Attendance.UNMARKED.value)
    attendance_marked_at = Timestamptz(null=True, default=None)


class WaitlistEntry(Table):
    """A resident waiting for places on a full session. The queue is ordered by ``(created_at, id)``."""

    session = ForeignKey(references=Session, on_delete=OnDelete.restrict)
    resident = ForeignKey(references=Resident, on_delete=OnDelete.restrict)
    party_size = Integer()
    status = Varchar(length=20, choices=WaitlistEntryStatus, default=WaitlistEntryStatus.WAITING.value)
    created_at = Timestamptz()


class WaitlistOffer(Table):
    """Places held for one waiting-list entry until the resident accepts, declines or the offer expires."""

    entry = ForeignKey(references=WaitlistEntry, on_delete=OnDelete.restrict)
    session = ForeignKey(references=Session, on_delete=OnDelete.restrict)
    party_size = Integer()
    token_hash = Varchar(length=64)  #: sha256 of the secret in the accept and decline links
    status = Varchar(length=20, choices=WaitlistOfferStatus, default=WaitlistOfferStatus.OPEN.value)
    offered_at = Timestamptz()
    expires_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)  #: when accepted, declined or expired


class SignInLink(Table):
    """A one-time link to "Find my bookings", sent by e-mail or text. Single use; 30 minutes."""

    resident = ForeignKey(references=Resident, on_delete=OnDelete.cascade)
    channel = Varchar(length=10)  #: email | sms: how the link is sent
    #: random; the link carries ``id.mac`` with the MAC over id and nonce (booking/sign_in.py), so the
    #: notification worker can build it and a reused row id (SQLite) never revives an old link
    nonce = Varchar(length=32)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class AuditEntry(Table):
    """One staff action: who, what, when, before and after. Personal data in it goes with the resident's."""

    staff_member = ForeignKey(references=StaffMember, null=True, on_delete=OnDelete.set_null)
    staff_email = Varchar(length=320, default="")  #: kept if the account is later removed
    action = Varchar(length=60)  #: dotted, e.g. session.moved, booking.attendance_marked
    subject_type = Varchar(length=40)  #: venue, room, activity, partner, session, series, booking, staff_member
    subject_id = Integer(null=True, default=None)
    venue = ForeignKey(references=Venue, null=True, default=None, on_delete=OnDelete.set_null)
    #: the resident the action concerns, if any: their data is blanked here when they ask for erasure
    resident = ForeignKey(references=Resident, null=True, default=None, on_delete=OnDelete.set_null)
    summary = Text(default="")  #: one plain-English line
    before = Text(default="")  #: JSON of the changed fields before, "" for a creation
    after = Text(default="")  #: JSON of the changed fields after, "" for a deletion
    created_at = Timestamptz()


class ServerSideSession(Table):
    """A browser's web session data on PostgreSQL (web/session_store.py); its cookie holds only ``key``.

    Not a booking-domain table, but kept with them so one app migrates it. (SQLite keeps these in files.)
    """

    key = Varchar(length=200, unique=True)
    value = Bytea()
    expires_at = Timestamptz(null=True, default=None, index=True)


class OpenActiveItem(Table):
    """One item of an OpenActive RPDE feed (booking/openactive.py): what the feed last said about it, and when.

    Deleted items stay as ``deleted`` rows for at least 7 days so that data users see the deletion.
    """

    kind = Varchar(length=30, index=True)  #: the feed: session-series | scheduled-sessions
    item_id = Varchar(length=60)  #: the RPDE id, unique within its feed
    #: strictly increasing over every feed (one counter, taken under a lock): RPDE orders by (modified, id)
    modified = Integer(index=True)
    state = Varchar(length=10)  #: updated | deleted
    data = Text(default="")  #: the item's JSON-LD, "" when deleted
    changed_at = Timestamptz()  #: when ``modified`` last moved; deleted rows go 7 days after this


class PartnerStaff(Table):
    """Links a staff account with the role ``partner`` to the one partner organisation it works for."""

    staff_member = ForeignKey(references=StaffMember, unique=True, on_delete=OnDelete.cascade)
    partner = ForeignKey(references=Partner, on_delete=OnDelete.restrict)


class Referral(Table):
    """A partner's link worker referring a resident to a session: booked straight away, or places held
    (``session.held``, like a waiting-list offer) until the resident confirms through a signed link."""

    partner = ForeignKey(references=Partner, on_delete=OnDelete.restrict)
    created_by = ForeignKey(references=StaffMember, null=True, on_delete=OnDelete.set_null)
    resident = ForeignKey(references=Resident, on_delete=OnDelete.restrict)
    session = ForeignKey(references=Session, on_delete=OnDelete.restrict)
    party_size = Integer()
    note_for_staff = Text(default="")  #: shown on the register; erased with the resident's data
    #: how the resident agreed to being referred: told the link worker by phone or in person
    consent_source = Varchar(length=20, choices=ConsentSource)
    consent_at = Timestamptz()  #: when the link worker recorded that consent
    #: the resident also agreed that the partner may see whether they came (booked, attended, did not attend)
    share_outcome = Boolean(default=False)
    mode = Varchar(length=10, choices=ReferralMode)
    hold_days = Integer(default=0)  #: hold mode: days the places are held
    expires_at = Timestamptz(null=True, default=None)  #: hold mode: when the held places go back
    status = Varchar(length=20, choices=ReferralStatus, default=ReferralStatus.CREATED.value)
    #: random; the confirm link carries ``id.mac`` with the MAC over id and nonce (booking/referrals.py)
    nonce = Varchar(length=32)
    booking = ForeignKey(references=Booking, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)  #: when accepted, expired or cancelled


class PartnerApiKey(Table):
    """A partner's key for the referrals JSON API (booking/partner_api_keys.py). The secret is shown once;
    only its SHA-256 is kept. A key works while unrevoked and while the account that made it still works
    for this partner."""

    partner = ForeignKey(references=Partner, on_delete=OnDelete.restrict)
    name = Varchar(length=100)  #: what the partner calls it, e.g. the system that uses it
    secret_hash = Varchar(length=64)  #: hex SHA-256 of the random part of ``cmk_<id>_<random>``
    created_by = ForeignKey(references=StaffMember, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)  #: to the minute: not every request writes
    revoked_at = Timestamptz(null=True, default=None)  #: set once; a revoked key never works again


TABLES = [
    Partner,
    Venue,
    Room,
    Activity,
    StaffMember,
    StaffVenue,
    StaffLink,
    Series,
    Session,
    Resident,
    Booking,
    WaitlistEntry,
    WaitlistOffer,
    SignInLink,
    AuditEntry,
    ServerSideSession,
    OpenActiveItem,
    PartnerStaff,
    Referral,
    PartnerApiKey,
]
