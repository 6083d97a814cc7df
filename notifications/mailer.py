"""Where e-mail goes: a real SMTP server, or the development mailbox when none is configured."""

from __future__ import annotations

import email.utils
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from notifications.email import Email
from notifications.tables import DevMessage

SMTP_TIMEOUT = 15.0


class MailError(RuntimeError):
    """The message was not accepted; the worker records the failure and retries later."""


class Mailer(Protocol):
    #: True when ``deliver`` only writes rows, so it can share the transaction that records the delivery
    #: (exactly once); False when it talks to the outside world and must run before that transaction.
    transactional: bool

    async def deliver(self, message: Email) -> None: ...


def build_message(message: Email, mail_from: str) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the richer alternative."""
    mime = EmailMessage()
    mime["From"] = mail_from
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.formatdate(localtime=False)
    mime["Message-ID"] = message.message_id
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class SmtpMailer:
    transactional = False

    def __init__(self, smtp_url: str, mail_from: str) -> None:
        parts = urlsplit(smtp_url)
        self.implicit_tls = parts.scheme == "smtps"
        self.hostname = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.mail_from = mail_from

    async def deliver(self, message: Email) -> None:
        try:
            await aiosmtplib.send(
                build_message(message, self.mail_from),
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.implicit_tls,
                timeout=SMTP_TIMEOUT,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}") from exc


class DevMailboxMailer:
    """Keeps messages in the database for ``/dev/mailbox``; call inside the delivery's transaction."""

    transactional = True

    async def deliver(self, message: Email) -> None:
        await DevMessage.insert(
            DevMessage(
                channel="email",
                recipient=message.to,
                subject=message.subject,
                text_body=message.text,
                html_body=message.html,
                message_id=message.message_id,
                created_at=datetime.now(timezone.utc),
            )
        )


def mailer_for(smtp_url: str | None, mail_from: str) -> Mailer:
    return SmtpMailer(smtp_url, mail_from) if smtp_url else DevMailboxMailer()
