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


TABLES = [OutboxEvent, ProcessedMessage]
