"""The sender loop: quiet hours, retries with back-off, permanent failures, leases and racing senders.

Real SMTP (aiosmtpd), SMS provider fakes over HTTP and both databases; time is a ``FixedClock`` the
test moves on, never a sleep.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.clock import FixedClock
from booking.service import book_place
from booking.validation import ResidentDetails
from notifications.mailer import DevMailboxMailer, SmtpMailer
from notifications.sender import Sender
from notifications.sms import DevOutboxSms, provider_from_url
from notifications.tables import DevMessage
from notifications.unsubscribe import verify_unsubscribe_token
from tests.builders import make_session
from tests.events.support import body_of, unique_email
from tests.notifications.conftest import BUSY, REFUSED
from tests.notifications.support import (
    attempts,
    events_about,
    message,
    notifier_for,
    notifier_settings,
    notify_url,
    outbox_event,
    queued,
    queued_to,
    texting,
    twilio_url,
)
from tests.support.services import MailSink, SmtpServer, free_port

NOON = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)  # midday in London: no quiet hours


pytestmark = pytest.mark.usefixtures("empty_queue")


async def queue_confirmation(db, data_dir, details: ResidentDetails, clock: FixedClock) -> dict[str, dict]:
    """Book, handle the confirmation at ``clock``'s time; the queued messages by channel."""
    session = await make_session()
    confirmation = await book_place(session.id, details, 1)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    await notifier_for(db, data_dir, clock=clock).handle_event(event)
    return await queued(event["id"])


def email_only() -> ResidentDetails:
    return ResidentDetails(name="Ada Lovelace", email=unique_email())


async def drain(sender: Sender) -> None:
    """Send everything due at the sender's time."""
    while await sender.send_due() == sender.batch_size:
        pass


async def test_an_email_goes_out_over_smtp_with_one_click_unsubscribe(db, data_dir, smtp_server):
    clock = FixedClock(NOON)
    details = email_only()
    rows = await queue_confirmation(db, data_dir, details, clock)
    sender = Sender(SmtpMailer(smtp_server.url, "Commons <bookings@commons.localhost>"), None, clock=clock)

    await drain(sender)

    [mail] = smtp_server.sink.to(details.email)
    queued_email = rows["email"]
    assert mail["Message-ID"] == queued_email["message_id"]
    assert mail["List-Unsubscribe"] == f"<{queued_email['unsubscribe_url']}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = queued_email["unsubscribe_url"].rsplit("/", 1)[1]
    assert verify_unsubscribe_token(notifier_settings(db, data_dir).secret_key, token) == queued_email["resident_id"]
    sent = await message(queued_email["id"])
    assert (sent["status"], sent["sent_at"], sent["attempts"]) == ("sent", NOON, 1)
    [delivery] = await attempts(queued_email["id"])
    assert (delivery["status"], delivery["attempt"], delivery["recipient"]) == ("sent", 1, details.email)
    assert await events_about("notification.sent", queued_email["event_id"]) == [
        {"delivery_id": delivery["id"], "event_id": queued_email["event_id"], "channel": "email",
         "template": "booking_confirmed"}
    ]


async def test_names_and_words_beyond_ascii_arrive_intact(db, data_dir, smtp_server):
    clock = FixedClock(NOON)
    details = ResidentDetails(name="Zoë Brontë-Ōkubo", email=unique_email())
    await queue_confirmation(db, data_dir, details, clock)

    await drain(Sender(SmtpMailer(smtp_server.url, "Commons <bookings@commons.localhost>"), None, clock=clock))

    [mail] = smtp_server.sink.to(details.email)
    assert "Hello Zoë Brontë-Ōkubo," in body_of(mail)
    assert "Zoë Brontë-Ōkubo" in body_of(mail, "html")


async def test_the_dev_mailbox_and_outbox_keep_each_message_exactly_once(db, data_dir):
    clock = FixedClock(NOON)
    details = texting()
    rows = await queue_confirmation(db, data_dir, details, clock)
    sender = Sender(DevMailboxMailer(), DevOutboxSms(), clock=clock)

    await drain(sender)
    await drain(sender)

    [email] = await DevMessage.select().where(DevMessage.recipient == details.email)
    [text] = await DevMessage.select().where(DevMessage.recipient == details.phone)
    assert email["message_id"] == rows["email"]["message_id"] and email["channel"] == "email"
    assert text["text_body"] == rows["sms"]["text_body"] and text["channel"] == "sms"
    assert (await message(rows["sms"]["id"]))["provider_message_id"] == text["message_id"]


async def test_quiet_hours_hold_a_text_until_eight_in_the_morning(db, data_dir, twilio_fake):
    evening = FixedClock(datetime(2031, 1, 14, 22, 30, tzinfo=UTC))  # 22:30 in London (GMT)
    details = texting()
    rows = await queue_confirmation(db, data_dir, details, evening)
    morning = datetime(2031, 1, 15, 8, 0, tzinfo=UTC)
    assert rows["sms"]["send_after"] == morning
    assert rows["email"]["send_after"] == evening.now()

    await drain(Sender(DevMailboxMailer(), provider_from_url(twilio_url(twilio_fake)), clock=FixedClock(evening.now() + timedelta(minutes=30))))

    assert (await message(rows["email"]["id"]))["status"] == "sent"
    assert (await message(rows["sms"]["id"]))["status"] == "pending"
    assert twilio_fake.requests == []

    await drain(Sender(DevMailboxMailer(), provider_from_url(twilio_url(twilio_fake)), clock=FixedClock(morning)))

    [request] = twilio_fake.requests
    assert request.form()["To"] == details.phone and request.form()["Body"] == rows["sms"]["text_body"]
    assert (await message(rows["sms"]["id"]))["status"] == "sent"


def london(*when: int) -> datetime:
    """A wall-clock time in London, as the UTC instant it is."""
    return datetime(*when, tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


def move_to(clock: FixedClock, instant: datetime) -> None:
    clock.advance(instant - clock.now())


async def test_a_text_failing_just_before_nine_pm_is_retried_in_the_morning_not_the_night(db, data_dir, twilio_fake):
    clock = FixedClock(london(2031, 1, 14, 20, 55))
    rows = await queue_confirmation(db, data_dir, texting(), clock)
    text_id = rows["sms"]["id"]
    sender = Sender(DevMailboxMailer(), provider_from_url(twilio_url(twilio_fake)), clock=clock)
    twilio_fake.server_error = True

    retries = []
    for _ in range(4):  # back-off 30 s, 60 s, 120 s, then 240 s would be 21:02:30
        await drain(sender)
        retries.append((await message(text_id))["next_attempt_at"])
        move_to(clock, min(retries[-1], london(2031, 1, 14, 21, 30)))

    assert retries == [
        london(2031, 1, 14, 20, 55, 30),
        london(2031, 1, 14, 20, 56, 30),
        london(2031, 1, 14, 20, 58, 30),
        london(2031, 1, 15, 8, 0),
    ]
    assert len(twilio_fake.requests) == 4
    twilio_fake.server_error = False
    await drain(sender)  # 21:30: in quiet hours, nothing is due
    move_to(clock, london(2031, 1, 15, 7, 59))
    await drain(sender)
    assert len(twilio_fake.requests) == 4 and (await message(text_id))["status"] == "pending"

    move_to(clock, london(2031, 1, 15, 8, 0))
    await drain(sender)

    assert len(twilio_fake.requests) == 5
    assert (await message(text_id))["status"] == "sent"


# The clocks go back at 02:00 BST on Sunday 26 October 2031: Saturday evening is BST, Sunday morning GMT.
OCTOBER_SATURDAY, OCTOBER_SUNDAY_EIGHT_AM = (2031, 10, 25), datetime(2031, 10, 26, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("evening", "morning"),
    [((2031, 1, 14), london(2031, 1, 15, 8, 0)), (OCTOBER_SATURDAY, OCTOBER_SUNDAY_EIGHT_AM)],
    ids=["winter", "the-night-the-clocks-go-back"],
)
async def test_a_text_due_in_the_evening_but_claimed_at_ten_pm_waits_until_eight(
    db, data_dir, twilio_fake, evening, morning
):
    clock = FixedClock(london(*evening, 20, 30))
    rows = await queue_confirmation(db, data_dir, texting(), clock)
    assert rows["sms"]["send_after"] == clock.now()  # due at once: 20:30 is not quiet
    sender = Sender(DevMailboxMailer(), provider_from_url(twilio_url(twilio_fake)), clock=clock)

    move_to(clock, london(*evening, 22, 0))  # the sender was behind: a backlog
    await drain(sender)

    assert twilio_fake.requests == []
    held = await message(rows["sms"]["id"])
    assert (held["status"], held["attempts"], held["claimed_until"]) == ("pending", 0, None)
    assert held["next_attempt_at"] == morning
    assert await attempts(rows["sms"]["id"]) == []
    assert (await message(rows["email"]["id"]))["status"] == "sent"  # e-mails have no quiet hours

    move_to(clock, morning - timedelta(minutes=1))
    await drain(sender)
    assert twilio_fake.requests == []

    move_to(clock, morning)
    await drain(sender)

    [request] = twilio_fake.requests
    assert request.form()["Body"] == rows["sms"]["text_body"]
    sent = await message(rows["sms"]["id"])
    assert (sent["status"], sent["attempts"], sent["sent_at"]) == ("sent", 1, morning)


async def test_a_text_whose_lease_runs_out_in_the_night_is_not_sent_until_the_morning(db, data_dir, twilio_fake):
    clock = FixedClock(london(2031, 1, 14, 20, 58))
    rows = await queue_confirmation(db, data_dir, texting(), clock)
    provider = provider_from_url(twilio_url(twilio_fake))
    dead = Sender(DevMailboxMailer(), provider, clock=clock)
    claimed_ids = [claimed.id for claimed in await dead.claim()]  # and then the process is killed
    assert rows["sms"]["id"] in claimed_ids

    move_to(clock, london(2031, 1, 14, 20, 58) + dead.lease + timedelta(seconds=1))
    await drain(Sender(DevMailboxMailer(), provider, clock=clock))

    assert twilio_fake.requests == []
    held = await message(rows["sms"]["id"])
    assert (held["status"], held["next_attempt_at"]) == ("pending", london(2031, 1, 15, 8, 0))


async def test_a_retry_at_nine_pm_the_night_the_clocks_go_back_is_due_at_eight_gmt(db, data_dir, twilio_fake):
    clock = FixedClock(london(*OCTOBER_SATURDAY, 20, 59, 45))
    assert clock.now() == datetime(2031, 10, 25, 19, 59, 45, tzinfo=UTC)  # BST
    rows = await queue_confirmation(db, data_dir, texting(), clock)
    sender = Sender(DevMailboxMailer(), provider_from_url(twilio_url(twilio_fake)), clock=clock)
    twilio_fake.server_error = True

    await drain(sender)  # 30 s later would be 21:00:15 BST

    assert (await message(rows["sms"]["id"]))["next_attempt_at"] == OCTOBER_SUNDAY_EIGHT_AM  # not 07:00 GMT
    twilio_fake.server_error = False
    move_to(clock, OCTOBER_SUNDAY_EIGHT_AM - timedelta(hours=1))
    await drain(sender)
    assert len(twilio_fake.requests) == 1
    move_to(clock, OCTOBER_SUNDAY_EIGHT_AM)
    await drain(sender)
    assert len(twilio_fake.requests) == 2 and (await message(rows["sms"]["id"]))["status"] == "sent"


async def test_a_provider_error_is_retried_with_growing_back_off_until_the_text_is_sent(db, data_dir, twilio_fake):
    clock = FixedClock(NOON)
    rows = await queue_confirmation(db, data_dir, texting(), clock)
    sender = Sender(DevMailboxMailer(), provider_from_url(twilio_url(twilio_fake)), clock=clock)
    text_id = rows["sms"]["id"]
    twilio_fake.server_error = True

    await drain(sender)
    waiting = await message(text_id)
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    assert waiting["next_attempt_at"] == NOON + timedelta(seconds=30)
    assert "Twilio 500" in waiting["last_error"]

    clock.advance(timedelta(seconds=29))
    await drain(sender)
    assert len(twilio_fake.requests) == 1  # not due yet

    clock.advance(timedelta(seconds=1))
    await drain(sender)
    assert (await message(text_id))["next_attempt_at"] == clock.now() + timedelta(seconds=60)

    twilio_fake.server_error = False
    clock.advance(timedelta(seconds=60))
    await drain(sender)

    assert (await message(text_id))["status"] == "sent"
    tries = await attempts(text_id)
    assert [(d["attempt"], d["status"], d["permanent"]) for d in tries] == [
        (1, "failed", False), (2, "failed", False), (3, "sent", False)
    ]
    failed = await events_about("notification.failed", rows["sms"]["event_id"])
    assert [(e["delivery_id"], e["channel"], e["permanent"]) for e in failed] == [
        (tries[0]["id"], "sms", False), (tries[1]["id"], "sms", False)
    ]
    assert "Twilio 500" in failed[0]["error"]
    sent = [e for e in await events_about("notification.sent", rows["sms"]["event_id"]) if e["channel"] == "sms"]
    assert [e["delivery_id"] for e in sent] == [tries[2]["id"]]


async def test_too_many_requests_waits_as_long_as_the_provider_asks(db, data_dir, twilio_fake):
    clock = FixedClock(NOON)
    rows = await queue_confirmation(db, data_dir, texting(), clock)
    twilio_fake.rate_limit = 0
    twilio_fake.retry_after = 120

    await drain(Sender(DevMailboxMailer(), provider_from_url(twilio_url(twilio_fake)), clock=clock))

    waiting = await message(rows["sms"]["id"])
    assert waiting["status"] == "pending"
    assert waiting["next_attempt_at"] == NOON + timedelta(seconds=120)


async def test_an_invalid_number_fails_for_good_and_is_never_retried(db, data_dir, notify_fake):
    clock = FixedClock(NOON)
    rows = await queue_confirmation(db, data_dir, texting(phone="+12025550123"), clock)  # not a UK mobile
    sender = Sender(DevMailboxMailer(), provider_from_url(notify_url(notify_fake)), clock=clock)

    await drain(sender)
    clock.advance(timedelta(days=1))
    await drain(sender)

    assert len(notify_fake.requests) == 1
    failed = await message(rows["sms"]["id"])
    assert failed["status"] == "failed" and "Not a UK mobile number" in failed["last_error"]
    [delivery] = await attempts(rows["sms"]["id"])
    assert (delivery["status"], delivery["permanent"]) == ("failed", True)
    [event] = await events_about("notification.failed", rows["sms"]["event_id"])
    assert (event["delivery_id"], event["permanent"]) == (delivery["id"], True)
    assert (await message(rows["email"]["id"]))["status"] == "sent"  # the e-mail is not held back


async def test_an_unreachable_smtp_server_is_retried_and_the_email_sent_once(db, data_dir, smtp_server):
    clock = FixedClock(NOON)
    details = email_only()
    rows = await queue_confirmation(db, data_dir, details, clock)

    await drain(Sender(SmtpMailer(f"smtp://127.0.0.1:{free_port()}", "c@commons.test"), None, clock=clock))
    assert (await message(rows["email"]["id"]))["status"] == "pending"

    clock.advance(timedelta(seconds=30))
    await drain(Sender(SmtpMailer(smtp_server.url, "c@commons.test"), None, clock=clock))

    assert len(smtp_server.sink.to(details.email)) == 1
    assert [(d["attempt"], d["status"]) for d in await attempts(rows["email"]["id"])] == [(1, "failed"), (2, "sent")]


async def test_a_recipient_refused_for_good_fails_and_a_busy_one_is_retried(db, data_dir, picky_smtp_server):
    clock = FixedClock(NOON)
    refused = await queue_confirmation(db, data_dir, ResidentDetails("Gone", f"{REFUSED}{unique_email()}"), clock)
    busy = await queue_confirmation(db, data_dir, ResidentDetails("Busy", f"{BUSY}{unique_email()}"), clock)

    await drain(Sender(SmtpMailer(picky_smtp_server.url, "c@commons.test"), None, clock=clock))

    gone = await message(refused["email"]["id"])
    assert gone["status"] == "failed" and "550" in gone["last_error"]
    assert (await attempts(refused["email"]["id"]))[0]["permanent"] is True
    later = await message(busy["email"]["id"])
    assert later["status"] == "pending" and "451" in later["last_error"]
    assert later["next_attempt_at"] == NOON + timedelta(seconds=30)


async def test_a_message_out_of_tries_fails_for_good(db, data_dir):
    clock = FixedClock(NOON)
    rows = await queue_confirmation(db, data_dir, email_only(), clock)
    sender = Sender(SmtpMailer(f"smtp://127.0.0.1:{free_port()}", "c@commons.test"), None, clock=clock, max_attempts=2)

    await drain(sender)
    clock.advance(timedelta(seconds=30))
    await drain(sender)
    clock.advance(timedelta(hours=2))
    await drain(sender)

    assert (await message(rows["email"]["id"]))["status"] == "failed"
    assert [(d["attempt"], d["permanent"]) for d in await attempts(rows["email"]["id"])] == [(1, False), (2, True)]
    assert [e["permanent"] for e in await events_about("notification.failed", rows["email"]["event_id"])] == [
        False, True
    ]


async def test_a_sender_that_dies_after_claiming_leaves_the_message_to_another_after_its_lease(
    db, data_dir, smtp_server
):
    clock = FixedClock(NOON)
    details = email_only()
    rows = await queue_confirmation(db, data_dir, details, clock)
    mailer = SmtpMailer(smtp_server.url, "c@commons.test")
    dead = Sender(mailer, None, clock=clock)
    [claimed] = await dead.claim()  # and then the process is killed before it sends
    assert claimed.id == rows["email"]["id"]

    other = Sender(mailer, None, clock=FixedClock(NOON + dead.lease - timedelta(seconds=1)))
    await drain(other)
    assert smtp_server.sink.to(details.email) == []

    other.clock = FixedClock(NOON + dead.lease + timedelta(seconds=1))
    await drain(other)

    assert len(smtp_server.sink.to(details.email)) == 1
    sent = await message(rows["email"]["id"])
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    assert [d["attempt"] for d in await attempts(rows["email"]["id"])] == [2]


async def test_a_stopped_sender_hands_back_what_it_had_not_started(db, data_dir):
    clock = FixedClock(NOON)
    rows = await queue_confirmation(db, data_dir, email_only(), clock)
    stop = asyncio.Event()
    stop.set()

    assert await Sender(DevMailboxMailer(), None, clock=clock).send_due(stop) == 1

    handed_back = await message(rows["email"]["id"])
    assert (handed_back["status"], handed_back["attempts"], handed_back["claimed_until"]) == ("pending", 0, None)
    assert await attempts(rows["email"]["id"]) == []


async def test_two_senders_racing_send_each_message_exactly_once(db, data_dir, smtp_server):
    clock = FixedClock(NOON)
    people = [email_only() for _ in range(24)]
    queued_ids = [(await queue_confirmation(db, data_dir, details, clock))["email"]["id"] for details in people]
    mailer = SmtpMailer(smtp_server.url, "c@commons.test")
    senders = [Sender(mailer, None, clock=clock, batch_size=3) for _ in range(2)]

    await asyncio.gather(*(drain(sender) for sender in senders))

    assert [len(smtp_server.sink.to(details.email)) for details in people] == [1] * len(people)
    for outbound_id in queued_ids:
        # A second claim would have counted a second attempt.
        assert [(d["attempt"], d["status"]) for d in await attempts(outbound_id)] == [(1, "sent")]
        assert (await message(outbound_id))["attempts"] == 1


class SlowSink(MailSink):
    """A mail server that takes 0.15 s of the sender's clock to accept each message (a slow relay)."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self.clock = clock

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.clock.advance(timedelta(seconds=0.15))
        return await super().handle_DATA(server, session, envelope)


async def test_a_sender_starts_no_send_in_the_second_half_of_its_lease(db, data_dir):
    """Otherwise a long batch could outlive its lease and another sender would send a message again."""
    from aiosmtpd.controller import Controller

    clock = FixedClock(NOON)
    people = [email_only() for _ in range(3)]
    for details in people:
        await queue_confirmation(db, data_dir, details, clock)
    sink, port = SlowSink(clock), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = Sender(
            SmtpMailer(f"smtp://127.0.0.1:{port}", "Commons <bookings@commons.localhost>"),
            None,
            clock=clock,
            lease=timedelta(seconds=0.2),
        )
        assert await sender.send_due() == 3
    finally:
        controller.stop()

    [sent_to] = [address for details in people for address in [details.email] if sink.to(address)]
    assert sent_to == people[0].email  # the first send began at once; the others would have ended past half the lease
    left = [await queued_to_pending(details.email) for details in people[1:]]
    assert left == [("pending", 0), ("pending", 0)]  # back in the queue, no attempt counted


async def queued_to_pending(address: str) -> tuple[str, int]:
    [row] = await queued_to(address)
    return row["status"], row["attempts"]


class ConnectionCountingSink(MailSink):
    """Accepts mail, noting each message's connection; refuses the message after ``per_connection`` on one
    connection with a 421, as servers that cap messages per connection do."""

    def __init__(self, per_connection: int | None = None) -> None:
        super().__init__()
        self.per_connection = per_connection
        self.peers: list[tuple] = []  #: the client's address and port, per message accepted
        self.quits = 0
        self._on_connection: dict[tuple, int] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        count = self._on_connection.get(session.peer, 0) + 1
        self._on_connection[session.peer] = count
        if self.per_connection is not None and count > self.per_connection:
            return "421 4.7.0 Too many messages on this connection"
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.quits += 1
        return "221 Bye"


@pytest.fixture
def counting_smtp_server(request):
    from aiosmtpd.controller import Controller

    sink = ConnectionCountingSink(per_connection=getattr(request, "param", None))
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(sink=sink, port=port, controller=controller)
    controller.stop()


async def test_a_batch_of_emails_shares_one_smtp_connection_closed_after_it(db, data_dir, counting_smtp_server):
    clock = FixedClock(NOON)
    people = [email_only() for _ in range(5)]
    for details in people:
        await queue_confirmation(db, data_dir, details, clock)
    sender = Sender(SmtpMailer(counting_smtp_server.url, "c@commons.test"), None, clock=clock)

    assert await sender.send_due() == 5

    sink = counting_smtp_server.sink
    assert all(len(sink.to(details.email)) == 1 for details in people)
    assert len(sink.peers) == 5 and len(set(sink.peers)) == 1  # one connection for the whole batch
    assert sink.quits == 1  # and it was closed when the batch was done, not left open


@pytest.mark.parametrize("counting_smtp_server", [2], indirect=True)
async def test_a_connection_the_server_stops_takes_no_email_with_it(db, data_dir, counting_smtp_server):
    """The server refuses a third message on one connection: that one is retried, the rest go on a new one."""
    clock = FixedClock(NOON)
    people = [email_only() for _ in range(5)]
    rows = [await queue_confirmation(db, data_dir, details, clock) for details in people]
    sender = Sender(SmtpMailer(counting_smtp_server.url, "c@commons.test"), None, clock=clock)

    await drain(sender)
    refused = await message(rows[2]["email"]["id"])
    assert refused["status"] == "pending" and "421" in refused["last_error"]
    clock.advance(timedelta(hours=1))
    await drain(sender)

    sink = counting_smtp_server.sink
    assert all(len(sink.to(details.email)) == 1 for details in people)  # everyone once, nobody twice
    assert len(set(sink.peers)) >= 3  # 2 + (421) + 2 on a second connection, the retry on a third
    assert (await message(rows[2]["email"]["id"]))["status"] == "sent"
