"""The e-mail channel: one multipart/alternative message (plain text + HTML) over SMTP;
a monthly report's message is multipart/mixed, the report's files attached.

STARTTLS required, opportunistic or off, or implicit TLS; AUTH only over an
encrypted connection (the settings refuse anything else). The `Message-ID` is
made from the idempotency key, the same on every retry, and the key itself is in
`X-Custodywatch-Idempotency-Key`, so receivers and mail stores can de-duplicate.

SMTP 5xx replies (an unknown mailbox, a refused sender) are permanent; 4xx
replies, timeouts, connection and TLS errors, and refused AUTH (a setting to
fix, not a reason to lose the message) are tried again.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from custodywatch.config import SmtpSettings
from custodywatch.contract.notifications import Notification
from custodywatch.notify.delivery import DeliveryResult
from custodywatch.notify.render import render_email

IDEMPOTENCY_HEADER = "X-Custodywatch-Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    """e.g. 'text/html', 'application/zip'."""
    data: bytes


ReportFiles = Callable[[Notification], Awaitable[Sequence[Attachment] | None]]
"""A report notification's files (from the store); None when they are not there."""


def message_id(idempotency_key: str, from_address: str) -> str:
    """A valid, stable Message-ID for a key (a key's slashes and colons are not all allowed)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{from_address.rpartition('@')[2]}>"


def build_message(
    notification: Notification, from_address: str, attachments: Sequence[Attachment] = ()
) -> EmailMessage:
    rendered = render_email(notification)
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = notification.address
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(notification.idempotency_key, from_address)
    message[IDEMPOTENCY_HEADER] = notification.idempotency_key
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for a in attachments:
        maintype, _, subtype = a.content_type.partition("/")
        message.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return message


class EmailNotifier:
    """Implements `Notifier` for channel `email`: one SMTP connection per message.

    `report_files` gives a monthly report's attachments; without it (or without
    the files) a report notification fails permanently, reason `config`."""

    def __init__(self, settings: SmtpSettings, report_files: ReportFiles | None = None) -> None:
        self._settings = settings
        self._report_files = report_files
        self._tls = ssl.create_default_context(
            cafile=None if settings.cafile is None else str(settings.cafile)
        )

    async def deliver(self, notification: Notification) -> DeliveryResult:
        address = notification.address
        if "@" not in address or any(c in address for c in "\r\n,;<>"):
            return DeliveryResult.permanent("config", "not a single e-mail address")
        files: Sequence[Attachment] = ()
        if notification.report is not None:
            found = None if self._report_files is None else await self._report_files(notification)
            if found is None:
                return DeliveryResult.permanent("config", "the report's files are not in the store")
            files = found
        s = self._settings
        start_tls = {"required": True, "opportunistic": None, "off": False}[s.starttls]
        try:
            await aiosmtplib.send(
                build_message(notification, s.from_address, files),
                hostname=s.host,
                port=s.port,
                use_tls=s.implicit_tls,
                start_tls=False if s.implicit_tls else start_tls,
                tls_context=self._tls,
                username=s.username,
                password=None if s.password is None else s.password.get_secret_value(),
                timeout=s.timeout_s,
            )
        except aiosmtplib.SMTPAuthenticationError as error:
            return DeliveryResult.retry("auth", f"SMTP AUTH refused ({error.code})")
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            return _reply(min(codes, default=550), "recipient refused")
        except aiosmtplib.SMTPResponseException as error:
            return _reply(error.code, type(error).__name__)
        except aiosmtplib.SMTPTimeoutError:
            return DeliveryResult.retry("timeout", f"no answer in {s.timeout_s:g} s")
        except (aiosmtplib.SMTPException, OSError) as error:
            # Connection refused or dropped, TLS handshake or certificate, STARTTLS missing.
            return DeliveryResult.retry("connection", type(error).__name__)
        return DeliveryResult.delivered()


def _reply(code: int, what: str) -> DeliveryResult:
    if code >= 500:
        return DeliveryResult.permanent("rejected", f"SMTP {code}: {what}")
    return DeliveryResult.retry("server_error", f"SMTP {code}: {what}")
