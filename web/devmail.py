"""The development mailbox: read the messages Commons would have sent. Never mounted in production."""

from __future__ import annotations

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from notifications.tables import DevMessage
from web.params import RowId

MAILBOX_LIMIT = 200


class DevMailboxController(Controller):
    include_in_schema = False
    path = "/dev/mailbox"

    @get("/", name="dev_mailbox")
    async def inbox(self) -> Template:
        messages = (
            await DevMessage.select(
                DevMessage.id, DevMessage.channel, DevMessage.recipient, DevMessage.subject, DevMessage.created_at
            )
            .order_by(DevMessage.created_at, ascending=False)
            .order_by(DevMessage.id, ascending=False)
            .limit(MAILBOX_LIMIT)
        )
        return Template(template_name="devmail_list.html", context={"messages": messages})

    @get("/{message_id:int}", name="dev_message")
    async def message(self, message_id: RowId) -> Template:
        message = await DevMessage.select().where(DevMessage.id == message_id).first()
        if message is None:
            raise NotFoundException()
        return Template(template_name="devmail_show.html", context={"message": message})
