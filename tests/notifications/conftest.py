"""SMS provider fakes over real HTTP and an SMTP server that refuses some recipients, for notification tests."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from notifications.states import MessageStatus
from notifications.tables import OutboundMessage
from tests.support.services import MailSink, SmtpServer, free_port
from tests.support.sms_fakes import NotifyFake, TwilioFake

REFUSED = "refused-"  #: a recipient starting with this gets a permanent 550
BUSY = "busy-"  #: a recipient starting with this gets a temporary 451


class PickySink(MailSink):
    """Accepts mail like ``MailSink``, but refuses some recipients as a real server would."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's hook)
        if address.startswith(REFUSED):
            return "550 5.1.1 No such mailbox here"
        if address.startswith(BUSY):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def notify_fake():
    fake = NotifyFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_fake():
    fake = TwilioFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def picky_smtp_server():
    sink = PickySink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(sink=sink, port=port, controller=controller)
    controller.stop()


@pytest.fixture
async def empty_queue(db):
    """Earlier tests' unsent messages are not this test's: nothing else is due when it starts."""
    await OutboundMessage.update({OutboundMessage.status: MessageStatus.CANCELLED.value}).where(
        OutboundMessage.status.is_in([MessageStatus.PENDING.value, MessageStatus.SENDING.value])
    )
