"""The e-mail notifier against a real SMTP server (aiosmtpd) on 127.0.0.1.

The server requires STARTTLS and AUTH, with a certificate from a throw-away CA
made for the test (trustme); the notifier trusts that CA through its cafile
setting, as a deployment with a private CA would.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from mailkit import Mailbox, smtp_server
from notification_builders import notification

from custodywatch.config import SmtpSettings
from custodywatch.localkafka import free_port
from custodywatch.notify.delivery import DeliveryResult
from custodywatch.notify.email import IDEMPOTENCY_HEADER, EmailNotifier, message_id

USER, PASSWORD = "custodywatch", "s3cret-Pa55word"
FROM = "alerts@custodywatch.example.org"
TO = "perry-barr.sergeant@police.example.org"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def cafile(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def starttls_server(mailbox: Mailbox, ca: trustme.CA) -> Any:
    return smtp_server(
        mailbox,
        tls_context=server_tls(ca),
        require_starttls=True,
        authenticator=mailbox.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )


def settings(port: int, cafile: Path | None, **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": "required",
        "username": USER,
        "password": PASSWORD,
        "from_address": FROM,
        "cafile": cafile,
        "timeout_s": 10,
    }
    return SmtpSettings.model_validate({**values, **overrides})


async def test_starttls_auth_and_both_parts_of_the_message(
    ca: trustme.CA, cafile: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox = Mailbox(login=(USER, PASSWORD))
    n = notification(channel="email", address=TO, summary="Child <b>detained</b> 6h 00m")
    with starttls_server(mailbox, ca) as port, caplog.at_level(logging.DEBUG):
        result = await EmailNotifier(settings(port, cafile)).deliver(n)
    assert result == DeliveryResult.delivered()
    assert mailbox.logins == [USER.encode()]
    ((envelope, message),) = mailbox.received
    assert envelope.mail_from == FROM and envelope.rcpt_tos == [TO]
    assert message["Subject"] == n.subject
    assert message["To"] == TO and message["From"] == FROM
    assert message[IDEMPOTENCY_HEADER] == n.idempotency_key
    assert message["Message-ID"] == message_id(n.idempotency_key, FROM)
    assert message["Message-ID"].endswith("@custodywatch.example.org>")
    assert message.get_content_type() == "multipart/alternative"
    plain, html = (part for part in message.iter_parts() if isinstance(part, EmailMessage))
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    text, markup = plain.get_content(), html.get_content()
    line = n.alerts[0]
    for fact in (line.person_ref, line.custody_record_id, line.suite_id, n.idempotency_key):
        assert fact in text and fact in markup
    assert "Child <b>detained</b> 6h 00m" in text
    assert "Child &lt;b&gt;detained&lt;/b&gt; 6h 00m" in markup and "<b>" not in markup
    assert PASSWORD not in caplog.text


async def test_the_message_id_is_the_same_on_a_retry(ca: trustme.CA, cafile: Path) -> None:
    mailbox = Mailbox(login=(USER, PASSWORD))
    n = notification(channel="email", address=TO)
    with starttls_server(mailbox, ca) as port:
        notifier = EmailNotifier(settings(port, cafile))
        assert await notifier.deliver(n) == DeliveryResult.delivered()
        assert await notifier.deliver(n) == DeliveryResult.delivered()
        other = notification(2, channel="email", address=TO)
        assert await notifier.deliver(other) == DeliveryResult.delivered()
    ids = [message["Message-ID"] for message in mailbox.messages]
    assert ids[0] == ids[1] != ids[2]


async def test_a_wrong_password_is_retried_as_auth(ca: trustme.CA, cafile: Path) -> None:
    mailbox = Mailbox(login=(USER, PASSWORD))
    with starttls_server(mailbox, ca) as port:
        notifier = EmailNotifier(settings(port, cafile, password="wrong"))
        result = await notifier.deliver(notification(channel="email", address=TO))
    assert result.outcome == "retry" and result.reason == "auth"
    assert "535" in result.detail and "wrong" not in result.detail
    assert not mailbox.messages


async def test_an_unknown_mailbox_is_permanent(ca: trustme.CA, cafile: Path) -> None:
    mailbox = Mailbox(refuse=TO, login=(USER, PASSWORD))
    with starttls_server(mailbox, ca) as port:
        result = await EmailNotifier(settings(port, cafile)).deliver(
            notification(channel="email", address=TO)
        )
    assert result == DeliveryResult.permanent("rejected", "SMTP 550: recipient refused")


async def test_an_untrusted_certificate_is_not_sent_to(ca: trustme.CA) -> None:
    mailbox = Mailbox(login=(USER, PASSWORD))
    with starttls_server(mailbox, ca) as port:
        result = await EmailNotifier(settings(port, None)).deliver(  # system CAs only
            notification(channel="email", address=TO)
        )
    assert result.outcome == "retry" and result.reason == "connection"
    assert not mailbox.messages and not mailbox.logins


async def test_required_starttls_is_not_skipped_when_the_server_lacks_it(cafile: Path) -> None:
    mailbox = Mailbox(login=(USER, PASSWORD))
    with smtp_server(mailbox) as port:  # plain SMTP, no STARTTLS offered
        result = await EmailNotifier(settings(port, cafile, username=None, password=None)).deliver(
            notification(channel="email", address=TO)
        )
        assert result.outcome == "retry" and result.reason == "connection"
        assert not mailbox.messages
        opportunistic = settings(
            port, cafile, username=None, password=None, starttls="opportunistic"
        )
        result = await EmailNotifier(opportunistic).deliver(
            notification(channel="email", address=TO)
        )
    assert result == DeliveryResult.delivered()
    assert len(mailbox.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls(ca: trustme.CA, cafile: Path) -> None:
    mailbox = Mailbox(login=(USER, PASSWORD))
    with smtp_server(
        mailbox,
        ssl_context=server_tls(ca),
        authenticator=mailbox.authenticate,
        auth_required=True,
        # aiosmtpd counts only STARTTLS as TLS for this check; the whole session is TLS here.
        auth_require_tls=False,
    ) as port:
        result = await EmailNotifier(
            settings(port, cafile, implicit_tls=True, starttls="off")
        ).deliver(notification(channel="email", address=TO))
    assert result == DeliveryResult.delivered()
    assert mailbox.logins == [USER.encode()] and len(mailbox.messages) == 1


async def test_nothing_listening_is_a_connection_retry(cafile: Path) -> None:
    result = await EmailNotifier(settings(free_port(), cafile)).deliver(
        notification(channel="email", address=TO)
    )
    assert result.outcome == "retry" and result.reason in {"connection", "timeout"}


async def test_an_address_that_is_not_one_mailbox_is_permanent(cafile: Path) -> None:
    notifier = EmailNotifier(settings(free_port(), cafile))
    for address in ("nobody", f"{TO}, boss@example.org", f"{TO}\r\nBcc: x@example.org"):
        result = await notifier.deliver(notification(channel="email", address=address))
        assert result == DeliveryResult.permanent("config", "not a single e-mail address")
