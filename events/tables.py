"""The transactional outbox and the record of what each consumer has processed."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboxEvent(Table):
    """A domain event written in the same transaction as the change it describes."""

    event_id = Varchar(length=36, unique=True)  #: CloudEvents id (uuid4); also the Nats-Msg-Id
    type = Varchar(length=80)  #: e.g. booking.confirmed
    subject = Varchar(length=120)  #: NATS subject, commons.<type>
    payload = Text()  #: the whole CloudEvents 1.0 JSON envelope
    created_at = Timestamptz()
    published_at = Timestamptz(null=True, default=None)  #: set only after JetStream acknowledged it
    attempts = Integer(default=0)
    last_error = Text(default="")


class ProcessedMessage(Table):
    """Which consumer has handled which event; unique on (consumer, event_id) so nothing runs twice."""

    consumer = Varchar(length=60)
    event_id = Varchar(length=36)
    processed_at = Timestamptz()
    handled_by = Varchar(length=100, default="")  #: which worker instance (host:pid), to see work shared


class DeadLetter(Table):
    """A message a consumer gave up on (malformed, or failed on its last delivery) and terminated."""

    consumer = Varchar(length=60)  #: the durable consumer's name
    event_id = Varchar(length=36, null=True, default=None)  #: null when the message was not a readable event
    subject = Varchar(length=200)
    payload = Text()  #: the message body as received (decoded leniently)
    error = Text()
    deliveries = Integer()  #: how many times JetStream had delivered it
    created_at = Timestamptz()


TABLES = [OutboxEvent, ProcessedMessage, DeadLetter]
