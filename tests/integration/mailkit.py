"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail tests: what it was sent."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from custodywatch.localkafka import free_port


class Mailbox:
    """An aiosmtpd handler that keeps what it was sent; refuses RCPT to `refuse`; accepts
    only `login` (user, password) when the server requires authentication."""

    def __init__(self, refuse: str = "", login: tuple[str, str] | None = None) -> None:
        self.received: list[tuple[Envelope, EmailMessage]] = []
        self.logins: list[bytes] = []
        self.refuse = refuse
        self.login = login

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, message in self.received]

    async def handle_RCPT(  # noqa: N802 (the name aiosmtpd calls)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (the name aiosmtpd calls)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope, parsed))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            self.login is not None
            and isinstance(data, LoginPassword)
            and (data.login, data.password) == tuple(part.encode() for part in self.login)
        )
        if ok:
            self.logins.append(data.login)
        return AuthResult(success=ok, handled=False)  # aiosmtpd then replies 535 itself


@contextmanager
def smtp_server(mailbox: Mailbox, **kwargs: Any) -> Iterator[int]:
    """Serve `mailbox` on a free port (kwargs go to aiosmtpd's Controller); yields the port."""
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
