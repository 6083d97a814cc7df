"""The Jinja template engine and the few filters pages share."""

from __future__ import annotations

from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from booking.queries import SessionView

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


def _register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters["places_text"] = places_text
    engine.engine.filters["address_lines"] = address_lines


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    # JinjaTemplateEngine turns autoescape on for a template directory.
    return TemplateConfig(directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=_register_filters)
