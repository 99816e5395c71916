"""The email channel: one message over SMTP, with STARTTLS when configured.

The standard library's ``smtplib`` runs in a worker thread with a socket timeout, so
a server that hangs costs one thread for ``timeout_s`` at most and never blocks the
event loop or the other deliveries of the batch.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage


class DeliveryFailed(Exception):
    """A channel could not deliver; the outbox retries later."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    sender: str = "tandem@localhost"
    ca_file: str | None = None
    timeout_s: float = 10.0


class EmailSender:
    """Sends a plain-text message to one address."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.server.ca_file)

    def _send(self, message: EmailMessage) -> None:
        s = self.server
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                smtp.ehlo()
                if s.starttls:
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise DeliveryFailed(f"smtp: {type(exc).__name__}: {exc}") from exc

    async def send(
        self, to: str, subject: str, body: str, *, idempotency_key: str
    ) -> None:
        message = EmailMessage()
        message["From"] = self.server.sender
        message["To"] = to
        message["Subject"] = subject
        # One Message-ID per delivery: a retry after a lost answer is recognisable.
        domain = self.server.sender.rpartition("@")[2] or "tandem"
        message["Message-ID"] = f"<{idempotency_key}@{domain}>"
        message.set_content(body)
        await asyncio.to_thread(self._send, message)
