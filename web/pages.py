"""The home page: what is on in the next four weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Controller, get
from litestar.response import Template

from booking.queries import list_upcoming_sessions

LOOK_AHEAD = timedelta(weeks=4)
HOME_PAGE_LIMIT = 200


class PagesController(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self) -> Template:
        now = datetime.now(UTC)
        sessions = await list_upcoming_sessions(
            start=now, end=now + LOOK_AHEAD, include_cancelled=True, limit=HOME_PAGE_LIMIT
        )
        return Template(template_name="home.html", context={"sessions": sessions})
