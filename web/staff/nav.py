"""The staff navigation: only the areas the signed-in role may use."""

from __future__ import annotations

from dataclasses import dataclass

from booking.staff import Permission, StaffUser
from booking.states import StaffRole


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    permission: Permission
    #: when set, only these roles see the item (admins hold every permission, but only partner staff can refer)
    roles: frozenset[StaffRole] | None = None


NAV = (
    NavItem("dashboard", "Dashboard", "/staff", Permission.SEE_SESSIONS),
    NavItem("referrals", "Referrals", "/staff/referrals", Permission.MAKE_REFERRALS, frozenset({StaffRole.PARTNER})),
    NavItem("programme", "Programme", "/staff/programme", Permission.MANAGE_PROGRAMME),
    NavItem("venues", "Venues and rooms", "/staff/venues", Permission.MANAGE_ROOMS),
    NavItem("activities", "Activities", "/staff/activities", Permission.MANAGE_ACTIVITIES),
    NavItem("partners", "Partners", "/staff/partners", Permission.MANAGE_PARTNERS),
    NavItem("reports", "Reports", "/staff/reports", Permission.VIEW_REPORTS),
    NavItem("people", "Staff accounts", "/staff/people", Permission.MANAGE_STAFF),
    NavItem("audit", "Audit log", "/staff/audit", Permission.VIEW_AUDIT_LOG),
    NavItem("account", "Your account", "/staff/account", Permission.ACCOUNT),
)


def staff_nav(staff: StaffUser | None) -> list[NavItem]:
    if staff is None:
        return []
    return [item for item in NAV if staff.can(item.permission) and (item.roles is None or staff.role in item.roles)]
