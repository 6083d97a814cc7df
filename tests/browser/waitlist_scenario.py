"""Set up waiting-list states in the database a ``commons up`` under test is using, from a child process.

``python -m tests.browser.waitlist_scenario fill`` fills a session a few days ahead and prints its id;
``... offer <session_id>`` frees one place, offers it to the waiting list and prints the offer's link
token and an unsubscribe token for the resident offered it. Output is one JSON line. The environment
(``COMMONS_DATA_DIR``, ``COMMONS_DATABASE_URL``) points it at the right database.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta

from booking.clock import SystemClock
from booking.offer_links import offer_link_token
from booking.queries import get_session, list_upcoming_sessions
from booking.service import book_place, cancel_booking
from booking.states import BookingStatus, WaitlistOfferStatus
from booking.tables import Booking, WaitlistEntry, WaitlistOffer
from booking.validation import ResidentDetails
from booking.waitlist import offer_free_places
from commons.runner import database
from commons.settings import get_settings
from notifications.unsubscribe import unsubscribe_token


def someone() -> ResidentDetails:
    return ResidentDetails(name="Filler Resident", email=f"filler.{uuid.uuid4().hex[:10]}@example.org")


async def fill() -> dict:
    """Book every place on a session at least two days ahead; the first booking is for one place."""
    start = datetime.now(UTC) + timedelta(days=2)
    now = datetime.now(UTC)
    session = next(
        s
        for s in await list_upcoming_sessions(start=start, limit=50)
        if s.places_left >= 2 and s.window_notice(now) is None  # booking (and so the queue) is open
    )
    await book_place(session.id, someone(), 1)
    while (current := await get_session(session.id)).places_left > 0:
        await book_place(session.id, someone(), min(current.places_left, current.max_party_size))
    return {"session_id": session.id, "title": session.activity_title}


async def offer(session_id: int) -> dict:
    """Cancel the one-place booking and offer that place to the head of the waiting list."""
    first = (
        await Booking.select(Booking.reference)
        .where(
            (Booking.session == session_id)
            & (Booking.party_size == 1)
            & (Booking.status == BookingStatus.CONFIRMED.value)
        )
        .order_by(Booking.id)
        .first()
    )
    await cancel_booking(first["reference"], authorised=True)
    await offer_free_places(session_id, SystemClock())  # a capacity worker may have offered it already
    made = (
        await WaitlistOffer.select(WaitlistOffer.id, WaitlistOffer.entry.resident.as_alias("resident"))
        .where((WaitlistOffer.session == session_id) & (WaitlistOffer.status == WaitlistOfferStatus.OPEN.value))
        .first()
    )
    secret_key = get_settings().secret_key
    return {
        "offer_token": await offer_link_token(secret_key, made["id"]),
        "unsubscribe_token": unsubscribe_token(secret_key, made["resident"]),
        "waiting": await WaitlistEntry.count().where(WaitlistEntry.session == session_id),
    }


async def main(argv: list[str]) -> dict:
    async with database(get_settings()):
        if argv[0] == "fill":
            return await fill()
        return await offer(int(argv[1]))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
