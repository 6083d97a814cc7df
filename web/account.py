"""Find my bookings: a one-time sign-in link by e-mail or text, then the resident's bookings and calendar."""

from __future__ import annotations

from litestar import Controller


class AccountController(Controller):
    include_in_schema = False
