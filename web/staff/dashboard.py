"""GET /staff: today's and this week's sessions at the signed-in staff member's venues (partner staff: their referrals)."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from booking.dashboard import build_dashboard, venue_choices
from booking.staff import Permission, StaffUser
from web.staff.access import staff_rule
from web.staff.auth import home_page


class DashboardController(Controller):
    path = "/"

    @get("/", opt=staff_rule(Permission.ACCOUNT))
    async def dashboard(self, staff: NamedDependency[StaffUser], venue: FromQuery[str] = "") -> Template | Redirect:
        if not staff.can(Permission.SEE_SESSIONS):  # partner staff: their referrals are their home page
            return Redirect(home_page(staff), status_code=HTTP_303_SEE_OTHER)
        choices = await venue_choices(staff.venue_filter())
        shown, errors = choices, {}
        venue = venue.strip()[:20]
        if venue:
            shown = [row for row in choices if str(row["id"]) == venue]
            if not shown:
                shown, errors = choices, {"venue": "Choose one of your venues from the list"}
        board = await build_dashboard(shown, datetime.now(UTC))
        return Template(
            template_name="staff/dashboard.html",
            context={
                "board": board,
                "venue_options": [(row["id"], row["name"]) for row in choices],
                "form": {"venue": venue},
                "errors": errors,
                "can_manage": staff.can(Permission.MANAGE_PROGRAMME),
                "can_register": staff.can(Permission.TAKE_REGISTER),
            },
            status_code=HTTP_422_UNPROCESSABLE_ENTITY if errors else 200,
        )
