"""A real SMTP server on 127.0.0.1 for exercises that send mail, with a mailbox to read back.

Example::

    import smtplib
    from email.message import EmailMessage

from curriculum.net import free_port
    from curriculum.agents.smtp import LocalSMTPServer

    with LocalSMTPServer() as server:                 # aiosmtpd on 127.0.0.1, a free port
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "hi"
        msg.set_content("hello")
        with smtplib.SMTP(server.host, server.port) as smtp:
            smtp.send_message(msg)
        [received] = server.mailbox.messages()        # email.message.EmailMessage objects
        received["Subject"]                           # 'hi'

The server speaks real SMTP (``EHLO``, ``MAIL FROM``, ``RCPT TO``, ``DATA``); nothing leaves the machine,
because every message is kept in memory instead of being relayed.
"""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

from curriculum.net import free_port

__all__ = ["Envelope", "Mailbox", "LocalSMTPServer", "free_port"]


@dataclass(frozen=True)
class Envelope:
    """One delivered message: the SMTP envelope (sender, recipients) and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class Mailbox:
    """Thread-safe store of every message the server accepted, in arrival order."""

    _items: list[Envelope] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, envelope: Envelope) -> None:
        with self._lock:
            self._items.append(envelope)

    def envelopes(self) -> list[Envelope]:
        """Every delivery with its envelope."""
        with self._lock:
            return list(self._items)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """The parsed messages, optionally only those whose envelope includes recipient ``to``."""
        items = self.envelopes()
        if to is not None:
            wanted = to.strip().lower()
            items = [e for e in items if wanted in (r.lower() for r in e.rcpt_tos)]
        return [e.message for e in items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.mailbox.add(Envelope(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class LocalSMTPServer:
    """An ``aiosmtpd`` server in a background thread; use it as a context manager or call start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the exercise server listens on the loopback interface only, not {host!r}")
        self.host = host
        self.port = port or free_port(host)
        self.mailbox = Mailbox()
        self._controller = None

    def start(self) -> LocalSMTPServer:
        """Start listening; returns self. Raises RuntimeError when already started."""
        if self._controller is not None:
            raise RuntimeError("the SMTP server is already running")
        from aiosmtpd.controller import Controller

        self._controller = Controller(
            _Handler(self.mailbox),
            hostname=self.host,
            port=self.port,
            server_hostname="aie-local-smtp",
            ready_timeout=10,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (the mailbox keeps what was received)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> LocalSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalSMTPServer({self.host}:{self.port}, {state}, {len(self.mailbox)} message(s))"
