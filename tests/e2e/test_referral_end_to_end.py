"""A referral from end to end, on both databases: a link worker refers two residents through the staff
pages; each gets an e-mail through the real relay and notification worker; one confirms at the link and
is booked, the other lets the hold run out (the capacity worker's sweep, on an injected clock) and is
told; staff mark the first attended on the register; the link worker sees "Attended". A nats-server of
this test's own and a real SMTP server.
"""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

from booking.clock import FixedClock
from booking.tables import Booking, Referral, Session
from commons.capacity_worker import run_capacity_worker
from events.relay import run_relay
from notifications.worker import run_notifications_worker
from tests.builders import make_room, make_session, make_venue
from tests.e2e.test_waitlist_end_to_end import mail_to, own_nats, running  # noqa: F401 (own_nats is a fixture)
from tests.events.support import body_of, settings_for, unique_email
from tests.referral_support import make_link_worker_account, make_partner
from tests.web.conftest import browser, csrf_token
from tests.web.staff.support import make_staff, post_form, sign_in

BASE_URL = "http://testserver.local"
CONFIRM_LINK = re.compile(re.escape(BASE_URL) + r"(/referrals/[0-9]+\.[A-Za-z0-9_-]+)")


def confirm_path(message) -> str:
    match = CONFIRM_LINK.search(body_of(message))
    assert match, "the referral e-mail has no confirm link"
    return match.group(1)


async def sign_out(client) -> None:
    response = await post_form(client, "/staff/sign-out")
    assert response.status_code == 303


def referral_form(session_id: int, name: str, email: str, hold_days: str) -> dict[str, str]:
    return {
        "session_id": str(session_id),
        "name": name,
        "email": email,
        "party_size": "1",
        "consent_source": "phone",
        "share_outcome": "yes",
        "mode": "hold",
        "hold_days": hold_days,
        "note": "First visit",
    }


async def test_refer_email_confirm_attend_and_the_partner_sees_it(db, data_dir, smtp_server, own_nats):  # noqa: F811
    settings = settings_for(
        db.url, data_dir, COMMONS_NATS_URL=own_nats.url, COMMONS_SMTP_URL=smtp_server.url, COMMONS_BASE_URL=BASE_URL
    )
    clock = FixedClock()
    venue = await make_venue()
    session = await make_session(capacity=4, starts_in=timedelta(days=5), room=await make_room(venue=venue))
    partner = await make_partner("Cannock Chase Link Workers")
    link_worker = await make_link_worker_account(partner)
    volunteer = await make_staff("volunteer", [venue])
    ada, bea = unique_email(), unique_email()

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running(
                lambda stop: run_relay(settings, stop),
                lambda stop: run_capacity_worker(settings, stop, clock=clock, sweep_interval=0.1),
                lambda stop: run_notifications_worker(settings, stop),
            )
        )
        web = await stack.enter_async_context(browser(settings))

        # The link worker refers Ada (held 3 days) and Bea (held 1 day) through the staff pages.
        await sign_in(web, link_worker)
        for name, email, days in (("Ada", ada, "3"), ("Bea", bea, "1")):
            made = await post_form(
                web, "/staff/referrals/new", referral_form(session.id, name, email, days), page="/staff/referrals/new"
            )
            assert made.status_code == 303, made.text
        assert await Session.select(Session.booked, Session.held).where(Session.id == session.id).first() == {
            "booked": 0,
            "held": 2,
        }

        # Each gets an e-mail with a link to confirm; Ada confirms and is booked, and told so.
        [ada_mail] = await mail_to(smtp_server, ada, "held for you")
        assert "Cannock Chase Link Workers" in body_of(ada_mail)
        link = confirm_path(ada_mail)
        token = await csrf_token(web, link)
        confirmed = await web.post(link, data={"_csrf_token": token}, follow_redirects=True)
        assert confirmed.status_code == 200
        reference = re.search(r"[A-Z0-9]{3}-[A-Z0-9]{3}", confirmed.text).group(0)
        [booked_mail] = await mail_to(smtp_server, ada, "confirmed")
        assert reference in booked_mail["Subject"]

        # Bea does not confirm: after a day the capacity worker's sweep gives her place back, and she is told.
        [bea_mail] = await mail_to(smtp_server, bea, "held for you")
        clock.advance(timedelta(days=1, minutes=1))
        await mail_to(smtp_server, bea, "has gone")
        assert "no longer held" in (await web.get(confirm_path(bea_mail))).text
        assert await Session.select(Session.booked, Session.held).where(Session.id == session.id).first() == {
            "booked": 1,
            "held": 0,
        }

        # The session's day comes (its register opens an hour before): a volunteer marks Ada attended.
        starts = datetime.now(UTC) + timedelta(minutes=30)
        await Session.update({Session.starts_at: starts, Session.ends_at: starts + timedelta(hours=1)}).where(
            Session.id == session.id
        )
        booking_id = (await Booking.select(Booking.id).where(Booking.reference == reference).first())["id"]
        await sign_out(web)
        await sign_in(web, volunteer)
        register = await web.get(f"/staff/sessions/{session.id}/register")
        assert "Referred by Cannock Chase Link Workers: First visit" in register.text
        marked = await post_form(
            web,
            f"/staff/bookings/{booking_id}/attendance",
            {"attendance": "attended"},
            page=f"/staff/sessions/{session.id}/register",
        )
        assert marked.status_code == 303

        # The link worker sees what happened to each referral.
        await sign_out(web)
        await sign_in(web, link_worker)
        listing = (await web.get("/staff/referrals")).text
        ada_referral = (await Referral.select(Referral.id).where(Referral.booking == booking_id).first())["id"]
        ada_row = listing.split(f'id="referral-{ada_referral}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-outcome="attended">Attended' in ada_row
        assert "Not confirmed in time" in listing

    # Nobody was told anything twice.
    for address in (ada, bea):
        subjects = [m["Subject"] for m in smtp_server.sink.to(address)]
        assert len(subjects) == len(set(subjects)), subjects
