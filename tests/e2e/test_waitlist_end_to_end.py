"""The waiting list from end to end, on both databases: a cancellation frees a place, the capacity worker
offers it, the resident gets an e-mail whose link opens the offer in the web app; turning it down and
letting it run out each move the offer on; accepting books. Real relay, capacity and notification
workers, a nats-server of this test's own, a real SMTP server; the worker's clock is injected.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

import pytest

from booking.clock import FixedClock
from booking.service import book_place, cancel_booking
from booking.tables import Session
from booking.validation import ResidentDetails
from booking.waitlist import join_waitlist
from commons.capacity_worker import run_capacity_worker
from events.relay import run_relay
from notifications.worker import run_notifications_worker
from tests.builders import make_session
from tests.events.support import body_of, settings_for, unique_email
from tests.support.services import NatsServer, wait_for_async
from tests.web.conftest import browser, csrf_token

BASE_URL = "http://testserver.local"
OFFER_LINK = re.compile(re.escape(BASE_URL) + r"(/offers/[0-9]+\.[A-Za-z0-9_-]+)")


@pytest.fixture
def own_nats(tmp_path):
    """A nats-server for this test alone, so its workers see only this database's events."""
    server = NatsServer(store_dir=tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@asynccontextmanager
async def running(*workers):
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker(stop)) for worker in workers]
    try:
        yield
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=30)
        for result in results:
            if isinstance(result, BaseException):
                raise result


async def mail_to(smtp_server, address: str, subject_contains: str, *, count: int = 1) -> list:
    def arrived():
        found = [m for m in smtp_server.sink.to(address) if subject_contains.lower() in m["Subject"].lower()]
        return found if len(found) >= count else None

    return await wait_for_async(arrived, timeout=20, message=f"{count} e-mail(s) to {address} about {subject_contains!r}")


def offer_path(message) -> str:
    match = OFFER_LINK.search(body_of(message))
    assert match, "the offer e-mail has no link to the offer page"
    return match.group(1)


async def answer_offer(client, path: str, answer: str):
    token = await csrf_token(client, path)
    return await client.post(f"{path}/{answer}", data={"_csrf_token": token}, follow_redirects=True)


async def test_cancel_offer_decline_expire_accept(db, data_dir, smtp_server, own_nats):
    settings = settings_for(
        db.url, data_dir, COMMONS_NATS_URL=own_nats.url, COMMONS_SMTP_URL=smtp_server.url, COMMONS_BASE_URL=BASE_URL
    )
    clock = FixedClock()
    session = await make_session(capacity=1, starts_in=timedelta(days=3))
    ada, bea, cy, dee = (unique_email() for _ in range(4))
    booking = await book_place(session.id, ResidentDetails("Ada", ada), 1)
    for name, email in (("Bea", bea), ("Cy", cy), ("Dee", dee)):
        await join_waitlist(session.id, ResidentDetails(name, email), 1, clock)
        clock.advance(timedelta(seconds=1))

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running(
                lambda stop: run_relay(settings, stop),
                lambda stop: run_capacity_worker(settings, stop, clock=clock, sweep_interval=0.1),
                lambda stop: run_notifications_worker(settings, stop),
            )
        )
        web = await stack.enter_async_context(browser(settings))

        # Joining the list is acknowledged by e-mail, with the place in the queue.
        [joined] = await mail_to(smtp_server, cy, "waiting list")
        assert "number 2" in body_of(joined).lower()

        # Ada cancels: Bea, first in line, is offered the place and it is held for her.
        await cancel_booking(booking.reference, authorised=True)
        [bea_offer] = await mail_to(smtp_server, bea, "place")
        bea_link = offer_path(bea_offer)
        page = await web.get(bea_link)
        assert page.status_code == 200 and "Accept" in page.text
        assert (await Session.select(Session.booked, Session.held).where(Session.id == session.id).first()) == {
            "booked": 0,
            "held": 1,
        }

        # Bea turns it down on the web page: Cy is offered it next.
        declined = await answer_offer(web, bea_link, "decline")
        assert declined.status_code == 200 and "turned down" in declined.text
        [cy_offer] = await mail_to(smtp_server, cy, "place")
        cy_link = offer_path(cy_offer)

        # Cy lets it run out (the worker's clock moves past the offer's 12 hours): Cy is told, Dee is offered it.
        clock.advance(timedelta(hours=13))
        await mail_to(smtp_server, cy, "has run out")
        [dee_offer] = await mail_to(smtp_server, dee, "place")
        late = await web.get(cy_link)
        assert "run out" in late.text.lower() and "Accept" not in late.text

        # Dee accepts: the held place becomes Dee's booking, confirmed by e-mail with its reference.
        accepted = await answer_offer(web, offer_path(dee_offer), "accept")
        assert accepted.status_code == 200
        reference = re.search(r"[A-Z0-9]{3}-[A-Z0-9]{3}", accepted.text).group(0)
        [confirmation] = await mail_to(smtp_server, dee, "confirmed")
        assert reference in confirmation["Subject"]
        assert (await Session.select(Session.booked, Session.held).where(Session.id == session.id).first()) == {
            "booked": 1,
            "held": 0,
        }

    # Nobody was told anything twice.
    for address in (ada, bea, cy, dee):
        subjects = [m["Subject"] for m in smtp_server.sink.to(address)]
        assert len(subjects) == len(set(subjects)), subjects
