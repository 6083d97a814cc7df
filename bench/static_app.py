"""The static-template ceiling: a Litestar app with one route that renders one Jinja template.

Served by uvicorn with the same settings as ``commons serve`` (``commons/runner.py``): one process,
``log_level="info"`` (so with access logging, as the real app has).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from litestar import Litestar, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

TEMPLATES = Path(__file__).parent / "templates"


@get("/")
async def static_page() -> Template:
    return Template(template_name="static.html")


def create_app() -> Litestar:
    return Litestar([static_page], template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=args.port, log_level="info")).run()


if __name__ == "__main__":
    main()
