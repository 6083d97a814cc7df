"""Delivery log and the development mailbox."""

from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.table import Table


class Delivery(Table):
    """One attempt to tell a resident something, whatever the channel."""

    event_id = Varchar(length=36)  #: the event that caused it
    channel = Varchar(length=10)  #: email | sms
    template = Varchar(length=60)  #: e.g. booking_confirmed
    recipient = Varchar(length=320)
    booking_reference = Varchar(length=8, default="")
    status = Varchar(length=20)  #: sent | failed
    error = Text(default="")
    message_id = Varchar(length=200, default="")
    attempted_at = Timestamptz()


class DevMessage(Table):
    """A message that would have been sent, kept for /dev/mailbox when no SMTP server is configured."""

    channel = Varchar(length=10, default="email")
    recipient = Varchar(length=320)
    subject = Varchar(length=300, default="")
    text_body = Text()
    html_body = Text(default="")
    message_id = Varchar(length=200, default="")
    created_at = Timestamptz()


TABLES = [Delivery, DevMessage]
