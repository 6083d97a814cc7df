"""Where e-mail goes: a real SMTP server, or the development mailbox when none is configured."""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from notifications.messages import Email
from notifications.tables import DevMessage

SMTP_TIMEOUT = 15.0
#: A URL has nowhere to fold: at the usual 78 characters a long List-Unsubscribe header would be
#: RFC 2047-encoded and mail programs would not recognise it (998 is RFC 5322's hard limit). 7-bit
#: bodies (quoted-printable where needed) pass every relay, with or without 8BITMIME.
POLICY = email.policy.SMTP.clone(max_line_length=998, cte_type="7bit")


class MailError(RuntimeError):
    """The message was not accepted: retried later, unless ``permanent`` (the server refused it for good)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    #: True when ``deliver`` only writes rows, so it can share the transaction that records the delivery
    #: (exactly once); False when it talks to the outside world and must run before that transaction.
    transactional: bool

    async def deliver(self, message: Email) -> None: ...

    async def close(self) -> None:
        """Let go of any connection kept between deliveries (the sender calls it after each batch)."""


def build_message(message: Email, mail_from: str) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the richer alternative."""
    mime = EmailMessage(policy=POLICY)
    mime["From"] = mail_from
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.formatdate(localtime=False)
    mime["Message-ID"] = message.message_id
    if message.unsubscribe_url:
        # RFC 2369 and RFC 8058: mail programs offer one-click unsubscribe by POSTing to this URL.
        mime["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
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
        self.envelope_from = email.utils.parseaddr(mail_from)[1]
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def deliver(self, message: Email) -> None:
        """Send over the connection kept since the last delivery, or a new one. A connection that failed in
        any way is dropped, so the next message (or this one's retry) starts afresh."""
        # Flattened here, with POLICY: aiosmtplib would flatten a message object with its own.
        payload = build_message(message, self.mail_from).as_bytes()
        async with self._lock:  # senders sharing this mailer take turns on its one connection
            try:
                client = await self._connection()
                await client.sendmail(self.envelope_from, [message.to], payload)
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self._drop()
                raise MailError(f"{type(exc).__name__}: {exc}", permanent=is_permanent(exc)) from exc

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        await self._drop()
        client = aiosmtplib.SMTP(
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            timeout=SMTP_TIMEOUT,
        )
        await client.connect()  # STARTTLS when the server offers it, then log in, as aiosmtplib.send does
        self._client = client
        return client

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is None or not client.is_connected:
            return
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()


def is_permanent(exc: Exception) -> bool:
    """A 5xx reply refusing the recipient or the message itself; anything else (4xx, a connection or
    log-in problem, a refused sender address, which is our configuration) is worth retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(refusal.code >= 500 for refusal in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return exc.code >= 500
    return False


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
                created_at=datetime.now(UTC),
            )
        )

    async def close(self) -> None:
        pass


def mailer_for(smtp_url: str | None, mail_from: str) -> Mailer:
    return SmtpMailer(smtp_url, mail_from) if smtp_url else DevMailboxMailer()
