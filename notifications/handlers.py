"""Handle one event: decide who to tell and queue every message, once, however often it arrives.

Nothing is sent here. The messages and the ``ProcessedMessage`` row are committed together, then the
event is acknowledged; a redelivered event finds its ``ProcessedMessage`` and is only acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from booking.clock import Clock, SystemClock
from commons.db import UNIQUE_VIOLATION_ERRORS
from commons.failpoints import failpoint
from commons.settings import Settings
from events.catalogue import parse
from events.consumer import Outcome
from notifications.links import Links
from notifications.outbound import already_handled, compose, save
from notifications.plans import PLANNERS, Context

log = logging.getLogger(__name__)

CONSUMER = "notifications"


@dataclass
class Notifier:
    """Handles events for one durable consumer; ``queued`` is set whenever new messages are committed."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    consumer: str = CONSUMER
    queued: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def links(self) -> Links:
        return Links(self.settings.base_url, self.settings.secret_key)

    async def handle_event(self, event: dict[str, Any]) -> Outcome:
        planner = PLANNERS.get(event["type"])
        if planner is None:
            return Outcome.DONE  # not ours to act on
        if await already_handled(self.consumer, event["id"]):
            return Outcome.DONE
        now = self.clock.now()
        context = Context(links=self.links, now=now, recorded_at=datetime.fromisoformat(event["time"]))
        plan = await planner(parse(event), context)
        rows = compose(
            plan.notices,
            event_id=event["id"],
            now=now,
            links=self.links,
            sms_available=self.settings.effective_sms_url is not None,
        )
        try:
            count = await save(plan, rows, consumer=self.consumer, event_id=event["id"], now=now)
        except UNIQUE_VIOLATION_ERRORS:
            if not await already_handled(self.consumer, event["id"]):
                raise
            log.info("notifications: event %s was handled by another instance", event["id"])
            return Outcome.DONE
        if count:
            self.queued.set()
        log.info("notifications: queued %d message(s) for %s %s", count, event["type"], event["id"])
        failpoint("notifications.before_ack")
        return Outcome.DONE
