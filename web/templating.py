"""The Jinja template engine and the few filters pages share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from booking.queries import SessionView
from booking.timefmt import format_date, format_time, iso_local, to_local
from booking.validation import display_uk_phone, is_ticked
from web.staff.nav import staff_nav

TEMPLATE_DIR = Path(__file__).parent / "templates"


def places_text(session: SessionView) -> str:
    """What a resident needs to know about availability, in words."""
    if session.is_cancelled:
        return "Cancelled"
    if session.is_full:
        return "Full"
    if session.places_left == 1:
        return "1 place left"
    return f"{session.places_left} places left"


def address_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def local_moment(instant: datetime, time_zone: str) -> str:
    """An instant in the venue's time zone, as a person would say it: "9:30pm on Tuesday 3 March"."""
    local = to_local(instant, time_zone)
    return f"{format_time(local)} on {format_date(local.date())}"


def _register_filters(engine: JinjaTemplateEngine) -> None:
    # Templates change only with a new release (a restart); checking every file's time on every render
    # is a stat() per template per request.
    engine.engine.auto_reload = False
    engine.engine.filters["places_text"] = places_text
    engine.engine.filters["address_lines"] = address_lines
    engine.engine.filters["is_ticked"] = is_ticked
    engine.engine.filters["local_moment"] = local_moment
    engine.engine.filters["iso_local"] = iso_local
    engine.engine.filters["uk_phone"] = display_uk_phone
    engine.engine.globals["staff_nav"] = staff_nav


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    # JinjaTemplateEngine turns autoescape on for a template directory.
    return TemplateConfig(directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=_register_filters)


def render_page(request: Request, template_name: str, context: dict) -> bytes:
    """The HTML a ``Template`` response would carry, as bytes, for a page that is kept and sent again."""
    template = Template(template_name=template_name, context=context)
    return (
        request.app.template_engine.get_template(template_name)
        .render(**template.create_template_context(request))
        .encode()
    )
