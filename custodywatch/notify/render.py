"""What a notification looks like on each channel: e-mail subject, text and HTML, JSON body.

Pure. Only what the `Notification` carries, which is pseudonymous by contract:
person_ref, custody record, suite, rule, stage, times and the one-line summary.
Every value is escaped in the HTML, and the subject is kept to one line (a line
break in a header would let a value add headers of its own).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from custodywatch.contract.notifications import (
    NOTIFICATION_ADAPTER,
    AlertLine,
    Notification,
    ReportNotice,
)

KIND_TITLES = {
    "raised": "Raised",
    "escalated": "Escalated",
    "resolved": "Resolved",
    "retracted": "Retracted",
    "report": "Report",
}

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Severity", "severity"),
    ("Alert", "rule"),
    ("State", "state"),
    ("Custody record", "custody_record_id"),
    ("Person ref", "person_ref"),
    ("Suite", "suite_id"),
    ("Home LA", "home_local_authority"),
    ("Due", "due_at"),
    ("Raised", "raised_at"),
    ("Summary", "summary"),
)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def webhook_body(notification: Notification) -> bytes:
    """The webhook request body: the notification's JSON, as on the Kafka topic."""
    return NOTIFICATION_ADAPTER.dump_json(notification)


def one_line(value: str) -> str:
    """`value` with every run of whitespace (line breaks included) as one space."""
    return " ".join(value.split())


def _cell(line: AlertLine, field: str) -> str:
    if field == "rule":
        return f"{line.rule} / {line.stage}"
    return str(getattr(line, field))


def _paragraphs(text: str) -> str:
    return "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.strip().split("\n\n")
    )


def _page(subject: str, body: str, key: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>"
        f'<body style="font-family: sans-serif">{body}'
        f'<p style="color: #555">Reference: {html.escape(key)}</p>'
        "</body></html>\n"
    )


def _render_report(n: Notification, report: ReportNotice, subject: str) -> RenderedEmail:
    """A monthly report's covering message: its figures, then their definitions."""
    text_lines = [n.text.rstrip(), ""]
    text_lines += [f"- {one_line(f.label)}: {f.value}" for f in report.figures]
    text_lines += ["", "Definitions:"]
    text_lines += [f"{i}. {one_line(d)}" for i, d in enumerate(report.definitions, start=1)]
    text_lines += ["", f"Reference: {n.idempotency_key}", ""]
    rows = "".join(
        f'<tr><td>{html.escape(f.label)}</td><td style="text-align: right">'
        f"{html.escape(f.value)}</td></tr>"
        for f in report.figures
    )
    definitions = "".join(f"<li>{html.escape(d)}</li>" for d in report.definitions)
    body = (
        f"{_paragraphs(n.text)}"
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">'
        f"<tbody>{rows}</tbody></table><h3>Definitions</h3><ol>{definitions}</ol>"
    )
    return RenderedEmail(subject, "\n".join(text_lines), _page(subject, body, n.idempotency_key))


def render_email(notification: Notification) -> RenderedEmail:
    n = notification
    subject = one_line(n.subject) or f"custodywatch: {KIND_TITLES[n.kind]}"
    if n.report is not None:
        return _render_report(n, n.report, subject)
    text_lines = [n.text.rstrip(), ""]
    for line in n.alerts:
        text_lines.append(f"- [{line.severity}] {line.rule} / {line.stage} ({line.state})")
        text_lines.extend(
            f"    {title}: {one_line(_cell(line, field))}"
            for title, field in _COLUMNS
            if field not in {"severity", "rule", "state"}
        )
    text_lines += ["", f"Reference: {n.idempotency_key}", ""]

    head = "".join(f"<th>{html.escape(title)}</th>" for title, _ in _COLUMNS)
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_cell(line, field))}</td>" for _, field in _COLUMNS)
        + "</tr>"
        for line in n.alerts
    )
    body = (
        f"{_paragraphs(n.text)}"
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
    return RenderedEmail(subject, "\n".join(text_lines), _page(subject, body, n.idempotency_key))
