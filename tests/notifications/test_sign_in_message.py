"""The "Find my bookings" link: sent now, by the channel asked for, to the address on record, once.

Real SMTP (aiosmtpd) and the Twilio fake over HTTP, both databases; time is a ``FixedClock``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.clock import FixedClock
from booking.service import book_place
from booking.sign_in import Contact, redeem_sign_in_link, request_sign_in_link
from booking.tables import SignInLink
from booking.validation import ResidentDetails
from commons.settings import DEV_SECRET_KEY
from notifications.mailer import SmtpMailer
from notifications.preferences import stop_emails
from notifications.sender import Sender
from notifications.sms import provider_from_url
from notifications.tables import OutboundMessage
from tests.builders import make_session
from tests.events.support import body_of, unique_email
from tests.notifications.support import BASE_URL, notifier_for, outbox_event, queued, twilio_url, unique_phone

EVENING = datetime(2031, 1, 15, 21, 30, tzinfo=UTC)  # quiet hours for texts in London

pytestmark = pytest.mark.usefixtures("empty_queue")


async def booked(details: ResidentDetails) -> int:
    session = await make_session()
    return (await book_place(session.id, details, 1)).resident_id


async def link_event(contact: Contact, resident_id: int, now: datetime) -> dict:
    assert await request_sign_in_link(contact, now=now) == 1
    return await outbox_event("resident.sign_in_requested", resident_id=resident_id)


async def drain(sender: Sender) -> None:
    while await sender.send_due() == sender.batch_size:
        pass


async def test_the_link_is_emailed_now_without_an_unsubscribe_footer(db, data_dir, smtp_server):
    details = ResidentDetails(name="Ada Lovelace", email=unique_email())
    resident_id = await booked(details)
    await stop_emails(resident_id, now=EVENING)  # unsubscribed from booking e-mails: a link asked for now still goes
    clock = FixedClock(EVENING)
    event = await link_event(Contact(email=details.email), resident_id, EVENING)

    await notifier_for(db, data_dir, clock=clock).handle_event(event)
    rows = await queued(event["id"])
    assert set(rows) == {"email"}
    assert rows["email"]["send_after"] == EVENING and rows["email"]["unsubscribe_url"] == ""
    await drain(Sender(SmtpMailer(smtp_server.url, "Commons <bookings@commons.localhost>"), None, clock=clock))

    [mail] = smtp_server.sink.to(details.email)
    assert mail["Subject"] == "Your link to see your Commons bookings"
    assert "List-Unsubscribe" not in mail
    text = body_of(mail)
    url = next(word for word in text.split() if word.startswith(f"{BASE_URL}/my-bookings/sign-in/"))
    token = url.rsplit("/", 1)[1]
    assert await redeem_sign_in_link(DEV_SECRET_KEY, token, now=EVENING + timedelta(minutes=1)) == resident_id


async def test_a_text_goes_now_even_in_quiet_hours_to_the_number_on_record(db, data_dir, twilio_fake):
    phone = unique_phone()
    details = ResidentDetails(name="Grace Hopper", email=unique_email(), phone=phone)  # never opted in to texts
    resident_id = await booked(details)
    clock = FixedClock(EVENING)
    event = await link_event(Contact(phone=phone), resident_id, EVENING)

    await notifier_for(db, data_dir, clock=clock, COMMONS_SMS_URL=twilio_url(twilio_fake)).handle_event(event)
    rows = await queued(event["id"])
    assert set(rows) == {"sms"} and rows["sms"]["recipient"] == phone and rows["sms"]["send_after"] == EVENING
    await drain(
        Sender(
            SmtpMailer("smtp://127.0.0.1:1", "c@commons.test"), provider_from_url(twilio_url(twilio_fake)), clock=clock
        )
    )

    [request] = twilio_fake.requests
    assert request.form()["To"] == phone
    assert f"{BASE_URL}/my-bookings/sign-in/" in request.form()["Body"]


async def test_no_text_without_a_provider(db, data_dir):
    phone = unique_phone()
    resident_id = await booked(ResidentDetails(name="No Provider", email=unique_email(), phone=phone))
    production = {
        "COMMONS_ENV": "production",
        "COMMONS_SECRET_KEY": "s" * 40,
        "COMMONS_SMTP_URL": "smtp://127.0.0.1:25",
    }
    now = datetime.now(UTC)
    event = await link_event(Contact(phone=phone), resident_id, now)

    await notifier_for(db, data_dir, clock=FixedClock(now), **production).handle_event(event)

    assert await queued(event["id"]) == {}


@pytest.mark.parametrize("what", ["used", "expired"])
async def test_a_used_or_expired_link_is_not_sent(db, data_dir, what):
    details = ResidentDetails(name="Too Late", email=unique_email())
    resident_id = await booked(details)
    event = await link_event(Contact(email=details.email), resident_id, EVENING)
    handled_at = EVENING + timedelta(minutes=1)
    if what == "used":
        await SignInLink.update({SignInLink.used_at: EVENING}).where(SignInLink.id == event["data"]["sign_in_link_id"])
    else:
        handled_at = EVENING + timedelta(minutes=31)

    await notifier_for(db, data_dir, clock=FixedClock(handled_at)).handle_event(event)

    assert await OutboundMessage.count().where(OutboundMessage.event_id == event["id"]) == 0
