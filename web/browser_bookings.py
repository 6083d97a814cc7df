"""What this browser booked or joined, kept in the server-side session store, so only it sees the confirmations."""

from __future__ import annotations

from dataclasses import astuple, dataclass

from litestar import Request

from booking.service import BookingConfirmation

SESSION_KEY = "bookings"
WAITLIST_KEY = "waitlist"
REMEMBERED = 5  #: enough for a resident booking a few sessions in a row; keeps the cookie small


@dataclass(frozen=True)
class JoinedWaitlist:
    """What the waiting-list confirmation shows: only what the resident typed and where they are in the queue."""

    entry_id: int
    session_id: int
    position: int
    party_size: int
    email: str  #: "" when the resident gave only a mobile number
    texts: bool


def remember(request: Request, confirmation: BookingConfirmation) -> None:
    """Let this browser see the booking's confirmation page. Only the reference is kept: the page shows the
    signed manage link, so a repeated submission (same idempotency key) shows the very same page."""
    entries = [ref for ref in remembered_references(request) if ref != confirmation.reference]
    entries.append(confirmation.reference)
    request.set_session({**request.session, SESSION_KEY: entries[-REMEMBERED:]})


def remembered_references(request: Request) -> list[str]:
    # Older sessions kept [reference, manage token] pairs.
    return [entry[0] if isinstance(entry, list) else entry for entry in request.session.get(SESSION_KEY, [])]


def booked_here(request: Request, reference: str) -> bool:
    return reference in remembered_references(request)


def remember_waitlist(request: Request, joined: JoinedWaitlist) -> None:
    entries = [e for e in request.session.get(WAITLIST_KEY, []) if e[0] != joined.entry_id]
    entries.append(list(astuple(joined)))
    request.set_session({**request.session, WAITLIST_KEY: entries[-REMEMBERED:]})


def joined_waitlist(request: Request, entry_id: int) -> JoinedWaitlist | None:
    for entry in request.session.get(WAITLIST_KEY, []):
        if entry[0] == entry_id:
            return JoinedWaitlist(*entry)
    return None
