"""A staff member's "forgotten your password?" e-mail: sent now, whatever the hour, with no unsubscribe, once.

Real SMTP (aiosmtpd), both databases; time is a ``FixedClock``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.clock import FixedClock
from booking.staff_accounts import authenticate, request_password_reset, set_password_with_link
from booking.tables import StaffLink, StaffMember
from commons.settings import DEV_SECRET_KEY
from notifications.mailer import SmtpMailer
from notifications.sender import Sender
from notifications.tables import OutboundMessage
from tests.events.support import body_of
from tests.notifications.support import BASE_URL, notifier_for, outbox_event, queued
from tests.web.staff.support import make_staff

EVENING = datetime(2031, 1, 15, 23, 30, tzinfo=UTC)  # quiet hours: a security message goes anyway
NEW_PASSWORD = "a brand new staff password"

pytestmark = pytest.mark.usefixtures("empty_queue")


async def reset_event(member: StaffMember, now: datetime = EVENING) -> dict:
    assert await request_password_reset(member.email.upper(), now=now)
    return await outbox_event("staff.password_reset_requested", staff_member_id=member.id)


async def drain(sender: Sender) -> None:
    while await sender.send_due() == sender.batch_size:
        pass


async def test_the_reset_link_is_emailed_now_without_unsubscribe_and_sets_the_password(db, data_dir, smtp_server):
    member = await make_staff("coordinator", name="Mary Seacole")
    clock = FixedClock(EVENING)
    event = await reset_event(member)

    await notifier_for(db, data_dir, clock=clock).handle_event(event)
    rows = await queued(event["id"])
    assert set(rows) == {"email"}
    row = rows["email"]
    assert row["recipient"] == member.email and row["resident_id"] is None
    assert row["send_after"] == EVENING and row["unsubscribe_url"] == ""
    await drain(Sender(SmtpMailer(smtp_server.url, "Commons <bookings@commons.localhost>"), None, clock=clock))

    [mail] = smtp_server.sink.to(member.email)
    assert mail["Subject"] == "Reset your Commons staff password"
    assert "List-Unsubscribe" not in mail
    text = body_of(mail)
    assert "Hello Mary Seacole" in text
    url = next(word for word in text.split() if word.startswith(f"{BASE_URL}/staff/password/"))
    assert url in body_of(mail, "html")
    token = url.rsplit("/", 1)[1]
    later = EVENING + timedelta(minutes=59)
    assert await set_password_with_link(DEV_SECRET_KEY, token, NEW_PASSWORD, now=later) == member.id
    user, _ = await authenticate(member.email, NEW_PASSWORD, now=later)
    assert user.id == member.id


async def test_an_event_delivered_twice_queues_one_email(db, data_dir):
    member = await make_staff("volunteer")
    event = await reset_event(member)
    notifier = notifier_for(db, data_dir, clock=FixedClock(EVENING))

    await notifier.handle_event(event)
    await notifier.handle_event(event)
    # Another instance of the worker that missed the first handling finds the event already processed too.
    await notifier_for(db, data_dir, clock=FixedClock(EVENING)).handle_event(event)

    assert await OutboundMessage.count().where(OutboundMessage.event_id == event["id"]) == 1


@pytest.mark.parametrize("what", ["used", "expired", "deactivated"])
async def test_no_email_for_a_link_that_no_longer_works(db, data_dir, what):
    member = await make_staff("admin")
    event = await reset_event(member)
    handled_at = EVENING + timedelta(minutes=1)
    if what == "used":
        await StaffLink.update({StaffLink.used_at: EVENING}).where(StaffLink.id == event["data"]["staff_link_id"])
    elif what == "expired":
        handled_at = EVENING + timedelta(hours=1)
    else:
        await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == member.id)

    await notifier_for(db, data_dir, clock=FixedClock(handled_at)).handle_event(event)

    assert await OutboundMessage.count().where(OutboundMessage.event_id == event["id"]) == 0


async def test_the_link_is_valid_for_one_hour(db):
    member = await make_staff("volunteer")
    event = await reset_event(member)
    link = await StaffLink.select(StaffLink.created_at, StaffLink.expires_at).where(
        StaffLink.id == event["data"]["staff_link_id"]
    ).first()
    assert link["expires_at"] - link["created_at"] == timedelta(hours=1)
