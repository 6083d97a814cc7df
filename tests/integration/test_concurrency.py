"""No overbooking under real concurrency: 200 residents race for 20 places."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from booking.errors import SessionFull
from booking.references import hash_token, new_manage_token, new_reference
from booking.service import book_place
from booking.states import BookingStatus
from booking.tables import Booking, Resident, Session
from booking.validation import ResidentDetails
from tests.builders import make_session

RESIDENTS = 200
CAPACITY = 20


async def _race(session_id: int, attempt) -> list:
    return await asyncio.gather(
        *(attempt(session_id, ResidentDetails(f"Racer {i}", f"racer{i}.{session_id}@example.org")) for i in range(RESIDENTS)),
        return_exceptions=True,
    )


async def _confirmed(session_id: int) -> int:
    return await Booking.count().where(
        (Booking.session == session_id) & (Booking.status == BookingStatus.CONFIRMED.value)
    )


async def test_200_concurrent_bookings_fill_exactly_20_places(db):
    session = await make_session(capacity=CAPACITY)
    results = await _race(session.id, lambda sid, who: book_place(sid, who, 1))

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, SessionFull)]
    assert unexpected == []
    assert sum(1 for r in results if not isinstance(r, Exception)) == CAPACITY
    assert sum(1 for r in results if isinstance(r, SessionFull)) == RESIDENTS - CAPACITY
    assert await _confirmed(session.id) == CAPACITY
    stored = await Session.select(Session.booked).where(Session.id == session.id).first()
    assert stored["booked"] == CAPACITY


async def _naive_book(session_id: int, who: ResidentDetails) -> None:
    """The control: read, check in Python, then write — what the conditional UPDATE replaces."""
    async with Session._meta.db.transaction():
        taken = await _confirmed(session_id)
        capacity = (await Session.select(Session.capacity).where(Session.id == session_id).first())["capacity"]
        if taken + 1 > capacity:
            raise SessionFull()
        resident = Resident(name=who.name, email=who.email, created_at=datetime.now(timezone.utc))
        await resident.save()
        await Booking(
            reference=new_reference(),
            session=session_id,
            resident=resident.id,
            party_size=1,
            status=BookingStatus.CONFIRMED.value,
            manage_token_hash=hash_token(new_manage_token()),
            created_at=datetime.now(timezone.utc),
        ).save()


async def test_the_naive_read_then_write_path_overbooks_on_postgresql(pg_engine):
    """Proves the race above is real: without the conditional UPDATE the same load overbooks."""
    session = await make_session(capacity=CAPACITY)
    await _race(session.id, _naive_book)
    assert await _confirmed(session.id) > CAPACITY


async def test_several_processes_racing_on_one_database_never_overbook(db, data_dir):
    """Separate OS processes (web, relay, workers share one database): still exactly the capacity."""
    import sys

    from tests.support.services import commons_env

    session = await make_session(capacity=CAPACITY)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.book_many", db.url, str(session.id), str(worker), "50",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=commons_env(db.url, data_dir),
        )
        for worker in range(4)
    ]
    outputs = [await p.communicate() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err.decode()[-2000:] for _, err in outputs]
    confirmed = sum(int(out.split()[0]) for out, _ in outputs)
    full = sum(int(out.split()[1]) for out, _ in outputs)
    assert (confirmed, full) == (CAPACITY, 200 - CAPACITY)
    assert await _confirmed(session.id) == CAPACITY
