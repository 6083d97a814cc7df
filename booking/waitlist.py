"""The waiting list: join a full session, offer freed places in queue order, accept, decline, expire.

Places under an open offer are *held* (``session.held``) and the public's ``book_place`` cannot take
them; accepting moves them from ``held`` to ``booked`` in one conditional UPDATE. Each use case runs
in one ``write_transaction`` and records its events in the outbox. Lock order, to avoid deadlocks on
PostgreSQL: offer rows, then the session row, then waitlist entries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from booking.clock import Clock
from booking.errors import (
    AlreadyBooked,
    AlreadyOnWaitlist,
    InvalidPartySize,
    OfferAlreadyAccepted,
    OfferDeclined,
    OfferExpired,
    OfferNotFound,
    PlacesAvailable,
    SessionCancelled,
)
from booking.references import hash_token, new_manage_token, new_reference
from booking.service import (
    REFERENCE_ATTEMPTS,
    BookingConfirmation,
    _load_bookable_session,
    record_availability_changed,
    upsert_resident,
)
from booking.states import (
    ACTIVE_WAITLIST_STATUSES,
    BookingSource,
    BookingStatus,
    SessionStatus,
    WaitlistEntryStatus,
    WaitlistMode,
    WaitlistOfferStatus,
)
from booking.tables import Booking, Session, WaitlistEntry, WaitlistOffer
from booking.validation import ResidentDetails
from commons.compiled import Bind, compiled
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction
from events.outbox import record_event

OFFER_HOURS = 12  #: how long a resident has to accept an offer, unless the activity says otherwise
CUTOFF = timedelta(hours=2)  #: no offer runs closer than this to the session's start

T = TypeVar("T")


@dataclass(frozen=True)
class WaitlistPlace:
    waitlist_entry_id: int
    session_id: int
    resident_id: int
    party_size: int
    position: int  #: 1 is next in line


@dataclass(frozen=True)
class OfferMade:
    offer_id: int
    waitlist_entry_id: int
    session_id: int
    resident_id: int
    party_size: int
    expires_at: datetime
    token: str  #: the secret for the accept and decline links, shown once; only its hash is stored


@dataclass(frozen=True)
class ExpiredOffers:
    expired_offer_ids: list[int]
    next_in_line: list[OfferMade | BookingConfirmation]


@dataclass(frozen=True)
class QueuedParty:
    entry_id: int
    party_size: int


# --- Pure rules ---------------------------------------------------------------------------------


def offer_expiry(
    now: datetime, starts_at: datetime, offer_hours: float = OFFER_HOURS, cutoff: timedelta = CUTOFF
) -> datetime | None:
    """When an offer made ``now`` runs out, or ``None`` if it is too close to the start to offer at all."""
    expires_at = min(now + timedelta(hours=offer_hours), starts_at - cutoff)
    return expires_at if expires_at > now else None


def select_parties(queue: Sequence[QueuedParty], free: int) -> list[QueuedParty]:
    """Fit-first: walk the queue in order and take each party that fits the places still free.

    A party too big for what is free is passed over but keeps its place at the head of the queue.
    """
    chosen = []
    for party in queue:
        if free <= 0:
            break
        if party.party_size <= free:
            chosen.append(party)
            free -= party.party_size
    return chosen


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# --- Use cases ----------------------------------------------------------------------------------


async def join_waitlist(session_id: int, resident: ResidentDetails, party_size: int, clock: Clock) -> WaitlistPlace:
    """Put a resident in the queue for a session that cannot fit their party."""
    now = clock.now()
    try:
        async with write_transaction(WaitlistEntry._meta.db):
            # You cannot queue before booking opens or after it closes.
            session = await _load_bookable_session(session_id, now, check_window=True)
            _check_party_size(party_size, session["max_party_size"])
            resident_id = await upsert_resident(resident, now)
            if await _has_confirmed_booking(session_id, resident_id):
                raise AlreadyBooked()
            if await _is_waiting(session_id, resident_id):
                raise AlreadyOnWaitlist()
            places = await compiled(
                Session,
                "waitlist.places",
                lambda: Session.select(Session.capacity, Session.booked, Session.held).where(Session.id == Bind("id")),
            ).first({"id": session_id})
            if places["capacity"] - places["booked"] - places["held"] >= party_size:
                raise PlacesAvailable()
            entry = WaitlistEntry(
                session=session_id,
                resident=resident_id,
                party_size=party_size,
                status=WaitlistEntryStatus.WAITING.value,
                created_at=now,
            )
            await entry.save()
            position = await _position(session_id, entry.id, now)
            await record_event(
                "booking.waitlisted",
                {
                    "waitlist_entry_id": entry.id,
                    "session_id": session_id,
                    "resident_id": resident_id,
                    "party_size": party_size,
                    "position": position,
                },
            )
    except UNIQUE_VIOLATION_ERRORS as exc:
        raise AlreadyOnWaitlist() from exc  # the same resident joining twice at once
    return WaitlistPlace(entry.id, session_id, resident_id, party_size, position)


async def offer_free_places(
    session_id: int,
    clock: Clock,
    offer_hours: float | None = None,
    cutoff: timedelta = CUTOFF,
    *,
    in_transaction: Callable[[], Awaitable[None]] | None = None,
) -> list[OfferMade | BookingConfirmation]:
    """Offer the places nobody has booked or been offered to the queue, in order (or book, in automatic mode).

    ``offer_hours``: how long each offer runs; ``None`` means the activity's own ``offer_hours``.
    ``in_transaction`` runs first inside the same transaction, so what it writes (a consumer's record
    of the event it is handling) commits with the offers or not at all; if it raises, nothing is offered.
    """

    async def attempt():
        async with write_transaction(Session._meta.db):
            if in_transaction is not None:
                await in_transaction()
            made = await _make_offers(session_id, clock.now(), offer_hours, cutoff)
            if made:
                await _record_availability(session_id)
            return made

    return await retrying_reference_collisions(attempt)


async def places_free_for_waiting_list(session_id: int) -> bool:
    """Whether a scheduled session has unbooked, unheld places and someone waiting: a cheap read to skip
    ``offer_free_places`` (and its write lock) when there is nothing to offer."""
    rows = await Session.raw(
        "SELECT id FROM session WHERE id = {} AND status = {} AND booked + held < capacity AND EXISTS "
        "(SELECT 1 FROM waitlist_entry WHERE waitlist_entry.session = session.id AND waitlist_entry.status = {})",
        session_id,
        SessionStatus.SCHEDULED.value,
        WaitlistEntryStatus.WAITING.value,
    )
    return bool(rows)


async def accept_offer(token: str, clock: Clock) -> BookingConfirmation:
    """Turn an open offer into a booking: its held places become booked places in one statement."""
    return await accept_offer_by_hash(hash_token(token or ""), clock)


async def accept_offer_by_hash(token_hash: str, clock: Clock) -> BookingConfirmation:
    """``accept_offer`` for a caller that proved the link another way (a signed e-mail link)."""
    return await retrying_reference_collisions(lambda: accept_once(token_hash, clock.now()))


async def decline_offer(
    token: str, clock: Clock, offer_hours: float | None = None, cutoff: timedelta = CUTOFF
) -> list[OfferMade | BookingConfirmation]:
    """Turn an offer down; its places go to the next people in line. Returns what they were offered."""
    return await decline_offer_by_hash(hash_token(token or ""), clock, offer_hours, cutoff)


async def decline_offer_by_hash(
    token_hash: str, clock: Clock, offer_hours: float | None = None, cutoff: timedelta = CUTOFF
) -> list[OfferMade | BookingConfirmation]:
    """``decline_offer`` for a caller that proved the link another way (a signed e-mail link)."""

    async def attempt():
        now = clock.now()
        async with write_transaction(WaitlistOffer._meta.db):
            offer = await _close_offer(token_hash, WaitlistOfferStatus.DECLINED, now)
            await _release(offer, WaitlistEntryStatus.DECLINED, "waitlist.offer_declined")
            made = await _make_offers(offer["session"], now, offer_hours, cutoff)
            await _record_availability(offer["session"])
            return made

    return await retrying_reference_collisions(attempt)


async def expire_offers(
    clock: Clock, offer_hours: float | None = None, cutoff: timedelta = CUTOFF
) -> ExpiredOffers:
    """Close every open offer past its time and offer the places to the next people in line."""

    async def attempt():
        now = clock.now()
        async with write_transaction(WaitlistOffer._meta.db):
            expired = await WaitlistOffer.raw(
                "UPDATE waitlist_offer SET status = {}, decided_at = {} "
                "WHERE status = {} AND expires_at <= {} RETURNING id, entry, session, party_size",
                WaitlistOfferStatus.EXPIRED.value,
                now,
                WaitlistOfferStatus.OPEN.value,
                now,
            )
            expired.sort(key=lambda offer: (offer["session"], offer["id"]))
            for offer in expired:
                await _release(offer, WaitlistEntryStatus.EXPIRED, "waitlist.offer_expired")
            made: list[OfferMade | BookingConfirmation] = []
            for session_id in sorted({offer["session"] for offer in expired}):
                made += await _make_offers(session_id, now, offer_hours, cutoff)
                await _record_availability(session_id)
            return ExpiredOffers([offer["id"] for offer in expired], made)

    return await retrying_reference_collisions(attempt)


# --- Steps, each inside the caller's transaction ------------------------------------------------


async def _make_offers(
    session_id: int, now: datetime, offer_hours: float | None, cutoff: timedelta
) -> list[OfferMade | BookingConfirmation]:
    # A no-op UPDATE takes the session's row lock first, so offers for one session are made one
    # transaction at a time (SQLite's write lock already does this).
    locked = await Session.raw(
        "UPDATE session SET held = held WHERE id = {} AND status = {} RETURNING capacity, booked, held",
        session_id,
        SessionStatus.SCHEDULED.value,
    )
    if not locked:
        return []
    session = (
        await Session.select(
            Session.starts_at,
            Session.activity.waitlist_mode.as_alias("waitlist_mode"),
            Session.activity.offer_hours.as_alias("offer_hours"),
        )
        .where(Session.id == session_id)
        .first()
    )
    hours = session["offer_hours"] if offer_hours is None else offer_hours
    expires_at = offer_expiry(now, session["starts_at"], hours, cutoff)
    if expires_at is None:
        return []
    await _remove_entries_already_booked(session_id)
    queue = (
        await WaitlistEntry.select(WaitlistEntry.id, WaitlistEntry.party_size, WaitlistEntry.resident)
        .where((WaitlistEntry.session == session_id) & (WaitlistEntry.status == WaitlistEntryStatus.WAITING.value))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    )
    residents = {row["id"]: row["resident"] for row in queue}
    free = locked[0]["capacity"] - locked[0]["booked"] - locked[0]["held"]
    chosen = select_parties([QueuedParty(row["id"], row["party_size"]) for row in queue], free)
    if session["waitlist_mode"] == WaitlistMode.AUTOMATIC.value:
        return [await _book_entry(session_id, party, residents[party.entry_id], now) for party in chosen]
    return [await _offer_entry(session_id, party, residents[party.entry_id], now, expires_at) for party in chosen]


async def _offer_entry(
    session_id: int, party: QueuedParty, resident_id: int, now: datetime, expires_at: datetime
) -> OfferMade:
    held = await Session.raw(
        "UPDATE session SET held = held + {} WHERE id = {} AND booked + held + {} <= capacity RETURNING id",
        party.party_size,
        session_id,
        party.party_size,
    )
    if not held:
        raise RuntimeError("the places chosen for an offer were taken inside the session lock")
    await set_entry_status(party.entry_id, WaitlistEntryStatus.OFFERED)
    token = new_manage_token()
    offer = WaitlistOffer(
        entry=party.entry_id,
        session=session_id,
        party_size=party.party_size,
        token_hash=hash_token(token),
        status=WaitlistOfferStatus.OPEN.value,
        offered_at=now,
        expires_at=expires_at,
    )
    await offer.save()
    await record_event(
        "waitlist.offered",
        {
            "offer_id": offer.id,
            "waitlist_entry_id": party.entry_id,
            "session_id": session_id,
            "resident_id": resident_id,
            "party_size": party.party_size,
            "expires_at": iso_utc(expires_at),
        },
    )
    return OfferMade(offer.id, party.entry_id, session_id, resident_id, party.party_size, expires_at, token)


async def _book_entry(session_id: int, party: QueuedParty, resident_id: int, now: datetime) -> BookingConfirmation:
    """Automatic mode: book the entry outright, under the same capacity rule as ``book_place``."""
    rows = await Session.raw(
        "UPDATE session SET booked = booked + {} "
        "WHERE id = {} AND status = {} AND booked + held + {} <= capacity "
        "RETURNING id, booked, held, capacity",
        party.party_size,
        session_id,
        SessionStatus.SCHEDULED.value,
        party.party_size,
    )
    if not rows:
        raise RuntimeError("the places chosen for an automatic booking were taken inside the session lock")
    await set_entry_status(party.entry_id, WaitlistEntryStatus.BOOKED)
    places_left = rows[0]["capacity"] - rows[0]["booked"] - rows[0]["held"]
    return await save_booking(session_id, resident_id, party.party_size, places_left, now)


async def accept_once(token_hash: str, now: datetime) -> BookingConfirmation:
    async with write_transaction(WaitlistOffer._meta.db):
        offer = await _close_offer(token_hash, WaitlistOfferStatus.ACCEPTED, now)
        rows = await Session.raw(
            "UPDATE session SET held = held - {}, booked = booked + {} "
            "WHERE id = {} AND status = {} AND held >= {} RETURNING id, booked, held, capacity",
            offer["party_size"],
            offer["party_size"],
            offer["session"],
            SessionStatus.SCHEDULED.value,
            offer["party_size"],
        )
        if not rows:
            raise SessionCancelled()
        entry = await WaitlistEntry.select(WaitlistEntry.resident).where(WaitlistEntry.id == offer["entry"]).first()
        resident_id = entry["resident"]
        if await _has_confirmed_booking(offer["session"], resident_id):
            raise AlreadyBooked()
        await set_entry_status(offer["entry"], WaitlistEntryStatus.BOOKED)
        places_left = await record_availability_changed(rows[0])
        confirmation = await save_booking(offer["session"], resident_id, offer["party_size"], places_left, now)
        await record_event(
            "waitlist.offer_accepted",
            {
                "offer_id": offer["id"],
                "waitlist_entry_id": offer["entry"],
                "session_id": offer["session"],
                "resident_id": resident_id,
                "booking_id": confirmation.booking_id,
                "reference": confirmation.reference,
            },
        )
    return confirmation


async def save_booking(
    session_id: int,
    resident_id: int,
    party_size: int,
    places_left: int,
    now: datetime,
    *,
    source: BookingSource = BookingSource.WAITLIST,
    recorded_by: dict | None = None,
    announce: bool = True,
) -> BookingConfirmation:
    """A confirmed booking for places already taken under the capacity rule.

    ``recorded_by``: extra booking columns for a booking someone made for the resident (consent source,
    who booked). ``announce``: publish ``booking.confirmed`` (a referral's own messages confirm instead).
    """
    token = new_manage_token()
    booking = Booking(
        reference=new_reference(),
        session=session_id,
        resident=resident_id,
        party_size=party_size,
        status=BookingStatus.CONFIRMED.value,
        source=source.value,
        manage_token_hash=hash_token(token),
        created_at=now,
        **(recorded_by or {}),
    )
    await booking.save()
    if announce:
        await record_event(
            "booking.confirmed",
            {
                "booking_id": booking.id,
                "reference": booking.reference,
                "session_id": session_id,
                "resident_id": resident_id,
                "party_size": party_size,
                "places_left": places_left,
            },
        )
    return BookingConfirmation(
        booking_id=booking.id,
        reference=booking.reference,
        manage_token=token,
        session_id=session_id,
        resident_id=resident_id,
        party_size=party_size,
        status=BookingStatus.CONFIRMED,
        places_left=places_left,
    )


async def _close_offer(token_hash: str, status: WaitlistOfferStatus, now: datetime) -> dict:
    """Move an open, unexpired offer to ``status``, or raise the named error that says why not."""
    rows = await WaitlistOffer.raw(
        "UPDATE waitlist_offer SET status = {}, decided_at = {} "
        "WHERE token_hash = {} AND status = {} AND expires_at > {} RETURNING id, entry, session, party_size",
        status.value,
        now,
        token_hash,
        WaitlistOfferStatus.OPEN.value,
        now,
    )
    if rows:
        return rows[0]
    offer = (
        await WaitlistOffer.select(WaitlistOffer.status, WaitlistOffer.session.status.as_alias("session_status"))
        .where(WaitlistOffer.token_hash == token_hash)
        .first()
    )
    if offer is None:
        raise OfferNotFound()
    if offer["session_status"] == SessionStatus.CANCELLED.value:
        raise SessionCancelled()  # cancel_session closed the offer
    if offer["status"] == WaitlistOfferStatus.ACCEPTED.value:
        raise OfferAlreadyAccepted()
    if offer["status"] == WaitlistOfferStatus.DECLINED.value:
        raise OfferDeclined()
    raise OfferExpired()  # expired, or open but past its time and not yet swept by expire_offers


async def _release(offer: dict, entry_status: WaitlistEntryStatus, event_type: str) -> None:
    """Give a closed offer's held places back and close its entry."""
    released = await Session.raw(
        "UPDATE session SET held = held - {} WHERE id = {} AND held >= {} RETURNING id",
        offer["party_size"],
        offer["session"],
        offer["party_size"],
    )
    if not released:
        raise RuntimeError(f"session {offer['session']} holds fewer places than offer {offer['id']}")
    await set_entry_status(offer["entry"], entry_status)
    entry = await WaitlistEntry.select(WaitlistEntry.resident).where(WaitlistEntry.id == offer["entry"]).first()
    await record_event(
        event_type,
        {
            "offer_id": offer["id"],
            "waitlist_entry_id": offer["entry"],
            "session_id": offer["session"],
            "resident_id": entry["resident"],
        },
    )


async def _record_availability(session_id: int) -> None:
    row = (
        await Session.select(Session.id, Session.capacity, Session.booked, Session.held)
        .where(Session.id == session_id)
        .first()
    )
    await record_availability_changed(row)


async def _remove_entries_already_booked(session_id: int) -> None:
    """Someone who booked another way while waiting leaves the queue rather than being offered twice."""
    await WaitlistEntry.raw(
        "UPDATE waitlist_entry SET status = {} WHERE session = {} AND status = {} AND resident IN "
        "(SELECT resident FROM booking WHERE session = {} AND status = {})",
        WaitlistEntryStatus.REMOVED.value,
        session_id,
        WaitlistEntryStatus.WAITING.value,
        session_id,
        BookingStatus.CONFIRMED.value,
    )


async def set_entry_status(entry_id: int, status: WaitlistEntryStatus) -> None:
    await WaitlistEntry.update({WaitlistEntry.status: status.value}).where(WaitlistEntry.id == entry_id)


async def _has_confirmed_booking(session_id: int, resident_id: int) -> bool:
    query = compiled(
        Booking,
        "waitlist.has_confirmed_booking",
        lambda: Booking.exists().where(
            (Booking.session == Bind("session"))
            & (Booking.resident == Bind("resident"))
            & (Booking.status == BookingStatus.CONFIRMED.value)
        ),
    )
    [row] = await query.run({"session": session_id, "resident": resident_id})
    return bool(row["exists"])


async def _is_waiting(session_id: int, resident_id: int) -> bool:
    query = compiled(
        WaitlistEntry,
        "waitlist.is_waiting",
        lambda: WaitlistEntry.exists().where(
            (WaitlistEntry.session == Bind("session"))
            & (WaitlistEntry.resident == Bind("resident"))
            & WaitlistEntry.status.is_in(sorted(ACTIVE_WAITLIST_STATUSES))
        ),
    )
    [row] = await query.run({"session": session_id, "resident": resident_id})
    return bool(row["exists"])


async def _position(session_id: int, entry_id: int, created_at: datetime) -> int:
    query = compiled(
        WaitlistEntry,
        "waitlist.ahead",
        lambda: WaitlistEntry.count().where(
            (WaitlistEntry.session == Bind("session"))
            & WaitlistEntry.status.is_in(sorted(ACTIVE_WAITLIST_STATUSES))
            & (
                (WaitlistEntry.created_at < Bind("created_at"))
                | ((WaitlistEntry.created_at == Bind("created_at")) & (WaitlistEntry.id < Bind("entry")))
            )
        ),
    )
    [row] = await query.run({"session": session_id, "created_at": created_at, "entry": entry_id})
    return row["count"] + 1


def _check_party_size(party_size: int, max_party_size: int) -> None:
    if not isinstance(party_size, int) or party_size < 1 or party_size > max_party_size:
        raise InvalidPartySize(f"You can book between 1 and {max_party_size} places for this activity.")


async def retrying_reference_collisions(attempt: Callable[[], Awaitable[T]]) -> T:
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            return await attempt()
        except UNIQUE_VIOLATION_ERRORS as exc:
            if "reference" in str(exc):
                continue  # a one-in-a-billion reference collision: the whole transaction again
            raise
    raise RuntimeError("could not allocate a unique booking reference")
