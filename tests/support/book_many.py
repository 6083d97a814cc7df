"""Run from a separate OS process: make N concurrent booking attempts and print how many were confirmed."""

from __future__ import annotations

import asyncio
import sys

from booking.errors import SessionFull
from booking.service import book_place
from booking.validation import ResidentDetails
from commons.db import bind_tables, close_pool, engine_for, open_pool


async def main(database_url: str, session_id: int, worker: int, attempts: int) -> None:
    engine = engine_for(database_url)
    await open_pool(engine)
    bind_tables(engine)
    confirmed = full = 0
    results = await asyncio.gather(
        *(
            book_place(session_id, ResidentDetails(f"P{worker}-{i}", f"p{worker}-{i}.{session_id}@example.org"), 1)
            for i in range(attempts)
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, SessionFull):
            full += 1
        elif isinstance(result, Exception):
            raise result
        else:
            confirmed += 1
    await close_pool(engine)
    print(f"{confirmed} {full}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
