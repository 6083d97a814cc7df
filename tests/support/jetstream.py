"""Waiting on a durable consumer: has it settled everything on the stream?"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError

from events.consumer import filtered_subjects
from events.envelope import STREAM_NAME


async def consumer_info(js: JetStreamContext, durable: str) -> ConsumerInfo | None:
    try:
        return await js.consumer_info(STREAM_NAME, durable)
    except NotFoundError:
        return None  # no worker has created the durable yet


async def last_seq(js: JetStreamContext, subject: str) -> int:
    """The stream sequence of the newest message on ``subject`` (0 if none); ``commons.>`` is all of it."""
    if subject in ("", ">", "commons.>"):
        return (await js.stream_info(STREAM_NAME)).state.last_seq
    try:
        return (await js.get_last_msg(STREAM_NAME, subject)).seq
    except NotFoundError:
        return 0


async def caught_up(js: JetStreamContext, durable: str) -> bool:
    """True once ``durable`` exists and has acknowledged (or terminated) every message now on its subject.

    ``num_pending`` and ``num_ack_pending`` alone are counters the server derives, and a CI run saw both
    at 0 for a durable that had not yet been handed the messages behind a poison one; the ack floor
    reaching the last sequence on the durable's subject is the fact itself.
    """
    info = await consumer_info(js, durable)
    if info is None or info.num_pending or info.num_ack_pending:
        return False
    newest = max([await last_seq(js, subject) for subject in filtered_subjects(info.config)])
    return (info.ack_floor.stream_seq or 0) >= newest
