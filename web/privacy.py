"""Your data (for a signed-in resident), the privacy notice and the accessibility statement."""

from __future__ import annotations

from litestar import Controller


class YourDataController(Controller):
    include_in_schema = False


class InformationController(Controller):
    include_in_schema = False
