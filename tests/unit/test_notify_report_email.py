"""A monthly report's e-mail: the figures and definitions in both parts, the report's
files attached (multipart/mixed), and nothing that names a child."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from email.message import EmailMessage

from custodywatch.contract.notifications import Notification, ReportFigure, ReportNotice
from custodywatch.notify.email import Attachment, build_message
from custodywatch.notify.render import render_email, webhook_body

NOTICE = ReportNotice(
    local_authority="dudley",
    month="2026-02",
    period_from="2026-02-01",
    period_to="2026-02-28",
    suppressed=True,
    figures=(
        ReportFigure("key_figures/children", "Detentions of children", "12"),
        ReportFigure("guideline/breached", "of whom held longer than <6h>", "<5"),
    ),
    definitions=("Small numbers are suppressed.", "Period: February 2026."),
)
REPORT = Notification(
    idempotency_key="report:dudley:2026-02",
    kind="report",
    step=0,
    recipient="la/dudley/safeguarding_partnership",
    channel="email",
    address="partnership@dudley.example.org",
    subject="Monthly report: children in police custody, dudley, February 2026",
    text="The monthly safeguarding report.\n\nIts headline figures follow.",
    alerts=(),
    created_at="2026-03-01T00:00:00Z",
    report=NOTICE,
)
HTML = b"<!DOCTYPE html><html><body>dudley 2026-02</body></html>"
ZIP = b"PK\x03\x04 not really a zip"


def test_the_figures_and_definitions_are_in_both_parts_and_escaped() -> None:
    rendered = render_email(REPORT)
    assert "- Detentions of children: 12" in rendered.text
    assert "- of whom held longer than <6h>: <5" in rendered.text
    assert "1. Small numbers are suppressed." in rendered.text
    assert "of whom held longer than &lt;6h&gt;</td>" in rendered.html
    assert "&lt;5" in rendered.html and "<li>Period: February 2026.</li>" in rendered.html
    assert "Reference: report:dudley:2026-02" in rendered.text


def test_the_report_files_are_attached_and_decode_to_the_same_bytes() -> None:
    files = [
        Attachment("custodywatch-dudley-2026-02.html", "text/html", HTML),
        Attachment("custodywatch-dudley-2026-02-tables.zip", "application/zip", ZIP),
    ]
    wire = build_message(REPORT, "reports@force.example.org", files).as_bytes()
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(("plain",))
    assert body is not None and "Detentions of children: 12" in body.get_content()
    got = {a.get_filename(): a.get_payload(decode=True) for a in parsed.iter_attachments()}
    assert got == {
        "custodywatch-dudley-2026-02.html": HTML,
        "custodywatch-dudley-2026-02-tables.zip": ZIP,
    }


def test_the_webhook_body_carries_the_figures_not_the_report() -> None:
    hook = replace(REPORT, channel="webhook", address="https://partnership.example.org/hook")
    body = webhook_body(hook)
    assert b'"month":"2026-02"' in body and b'"value":"<5"' in body
    assert b"<!DOCTYPE" not in body
    assert len(body) < 2_000
