"""The notification queue, its delivery log, reminders already scheduled, and the development mailbox."""

from piccolo.columns import Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboundMessage(Table):
    """One message to one resident on one channel, queued when its event is handled.

    The notification worker renders every message an event calls for and inserts them here in the
    same transaction as its ``ProcessedMessage`` row, then acknowledges the event. A sender loop
    claims due rows, sends them and records each attempt in ``Delivery``. Quiet hours, retries with
    back-off and permanent failure are all states of this row, not of the JetStream message.
    """

    event_id = Varchar(length=36)  #: the event that caused it
    channel = Varchar(length=10)  #: email | sms
    template = Varchar(length=60)  #: e.g. booking_confirmed
    recipient = Varchar(length=320)  #: e-mail address or E.164 number
    resident_id = Integer(null=True, default=None)
    booking_reference = Varchar(length=8, default="")
    subject = Varchar(length=300, default="")
    text_body = Text()
    html_body = Text(default="")
    unsubscribe_url = Varchar(length=500, default="")  #: for the List-Unsubscribe header
    message_id = Varchar(length=200, default="")  #: deterministic e-mail Message-ID
    status = Varchar(length=20, default="pending")  #: pending | sending | sent | failed | cancelled
    send_after = Timestamptz()  #: not before this (quiet hours hold texts until the morning)
    #: a text's venue time zone, whose quiet hours hold every try; empty: no quiet hours (e-mails, links asked for now)
    quiet_hours_zone = Varchar(length=64, default="")
    next_attempt_at = Timestamptz()  #: when the next try is due (back-off after a transient failure)
    claimed_until = Timestamptz(null=True, default=None)  #: a sender's lease while status is sending
    attempts = Integer(default=0)
    last_error = Text(default="")
    provider_message_id = Varchar(length=200, default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)


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
    outbound_message = Integer(null=True, default=None)  #: the OutboundMessage id this attempt sent
    attempt = Integer(default=1)  #: 1 for the first try
    permanent = Boolean(default=False)  #: a failure that will never be retried


class ScheduledReminder(Table):
    """A reminder already decided for a booking: unique on (booking_id, reminder), so it fires once
    for each time of its session (a moved session's reminders are decided again, updating the row)."""

    booking_id = Integer()
    reminder = Varchar(length=10)  #: which one, e.g. "24h" or "2h"
    due_at = Timestamptz()  #: the time it was decided for; a different due time means the session moved
    status = Varchar(length=10)  #: due (reminder.due recorded) | skipped (booked or moved too late, superseded)
    created_at = Timestamptz()


class DevMessage(Table):
    """A message that would have been sent, kept for /dev/mailbox when no SMTP server is configured."""

    channel = Varchar(length=10, default="email")
    recipient = Varchar(length=320)
    subject = Varchar(length=300, default="")
    text_body = Text()
    html_body = Text(default="")
    message_id = Varchar(length=200, default="")
    created_at = Timestamptz()


TABLES = [OutboundMessage, Delivery, ScheduledReminder, DevMessage]
