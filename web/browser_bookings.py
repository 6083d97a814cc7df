"""Which bookings this browser made: reference -> manage token, kept in the server-side session store."""

from __future__ import annotations

from litestar import Request

from booking.service import BookingConfirmation

SESSION_KEY = "bookings"
REMEMBERED = 5  #: enough for a resident booking a few sessions in a row; keeps the cookie small


def remember(request: Request, confirmation: BookingConfirmation) -> None:
    entries = [e for e in request.session.get(SESSION_KEY, []) if e[0] != confirmation.reference]
    entries.append([confirmation.reference, confirmation.manage_token])
    request.set_session({**request.session, SESSION_KEY: entries[-REMEMBERED:]})


def manage_token_for(request: Request, reference: str) -> str | None:
    for entry in request.session.get(SESSION_KEY, []):
        if entry[0] == reference:
            return entry[1]
    return None
