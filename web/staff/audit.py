"""GET /staff/audit: the audit log for administrators, newest first, filtered and a page at a time."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from booking.audit_log import SHOWN_IN, audit_choices, parse_audit_filters, search_audit
from booking.staff import Permission
from booking.tables import Venue
from web.staff.access import staff_rule

FILTER_NAMES = ("staff", "action", "subject_type", "venue", "from", "to", "text", "page")


class AuditLogController(Controller):
    path = "/"

    @get("/audit", opt=staff_rule(Permission.VIEW_AUDIT_LOG))
    async def audit_log(self, request: Request) -> Template:
        venues = await Venue.select(Venue.id, Venue.name).order_by(Venue.name).order_by(Venue.id)
        params = {name: request.query_params.get(name, "") for name in FILTER_NAMES}
        filters, errors = parse_audit_filters(params, venue_choices={row["id"] for row in venues})
        page = await search_audit(filters)
        actions, subject_types = await audit_choices()
        return Template(
            template_name="staff/audit.html",
            context={
                "form": {name: value[:320] for name, value in params.items()},
                "errors": errors,
                "filters": filters,
                "page": page,
                "shown_in": SHOWN_IN,
                "venue_options": [(row["id"], row["name"]) for row in venues],
                "action_options": [(action, action) for action in actions],
                "type_options": [(kind, kind.replace("_", " ")) for kind in subject_types],
            },
            status_code=HTTP_422_UNPROCESSABLE_ENTITY if errors else 200,
        )
