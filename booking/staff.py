"""Who may do what in the staff console: roles, permissions and venue scope. Pure: no I/O.

Every staff route names one ``Permission`` and, where it concerns one thing, the ``VenueScope`` that
finds the venue it belongs to (web/staff/access.py checks both before the handler runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from booking.states import StaffRole


class Permission(str, Enum):
    ACCOUNT = "account"  #: their own account: sign out, change their password
    SEE_SESSIONS = "see_sessions"  #: the dashboard: today's and this week's sessions
    TAKE_REGISTER = "take_register"  #: registers, attendance, walk-ins, booking on behalf, moving up the list
    MANAGE_PROGRAMME = "manage_programme"  #: sessions and series: schedule, change, move, cancel
    MANAGE_ROOMS = "manage_rooms"
    MANAGE_ACTIVITIES = "manage_activities"
    MANAGE_VENUES = "manage_venues"  #: create, edit and archive venues
    MANAGE_PARTNERS = "manage_partners"
    VIEW_REPORTS = "view_reports"
    EXPORT_PERSONAL_DATA = "export_personal_data"  #: files with residents' names and contact details
    MANAGE_STAFF = "manage_staff"  #: staff accounts, roles and venues
    VIEW_AUDIT_LOG = "view_audit_log"
    MAKE_REFERRALS = "make_referrals"  #: a partner's referrals: make them and see their outcomes (partner staff only)


_EVERYONE = {Permission.ACCOUNT, Permission.SEE_SESSIONS, Permission.TAKE_REGISTER}

ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    # Admins may open every page; referrals themselves are made only by staff linked to a partner
    # (booking/referrals.py ``partner_of``), so an admin's referral pages say their account is not linked.
    StaffRole.ADMIN: frozenset(Permission),
    StaffRole.COORDINATOR: frozenset(
        _EVERYONE
        | {
            Permission.MANAGE_PROGRAMME,
            Permission.MANAGE_ROOMS,
            Permission.MANAGE_ACTIVITIES,
            Permission.VIEW_REPORTS,
            Permission.EXPORT_PERSONAL_DATA,
        }
    ),
    StaffRole.VOLUNTEER: frozenset(_EVERYONE),
    #: no venue, no register, no residents but the ones they referred
    StaffRole.PARTNER: frozenset({Permission.ACCOUNT, Permission.MAKE_REFERRALS}),
}


class VenueScope(str, Enum):
    """Which path parameter names the thing a route acts on; its venue must be one of the staff member's."""

    VENUE = "venue_id"
    ROOM = "room_id"
    SESSION = "session_id"
    SERIES = "series_id"
    BOOKING = "booking_id"
    WAITLIST_ENTRY = "entry_id"


@dataclass(frozen=True)
class StaffUser:
    """The signed-in staff member, as every staff handler sees them."""

    id: int
    email: str
    name: str
    role: StaffRole
    venue_ids: frozenset[int]  #: the venues they work at; admins work at every venue whatever this holds

    @property
    def is_admin(self) -> bool:
        return self.role is StaffRole.ADMIN

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def works_at(self, venue_id: int | None) -> bool:
        return self.is_admin or (venue_id is not None and venue_id in self.venue_ids)

    def venue_filter(self) -> frozenset[int] | None:
        """For lists: None means every venue (an admin); otherwise only these."""
        return None if self.is_admin else self.venue_ids
