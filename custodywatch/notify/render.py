"""What a notification looks like on each channel: e-mail subject, text and HTML, JSON body.

Pure. Only what the `Notification` carries, which is pseudonymous by contract:
person_ref, custody record, suite, rule, stage, times and the one-line summary.
Every value is escaped in the HTML, and the subject is kept to one line (a line
break in a header would let a value add headers of its own).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from custodywatch.contract.notifications import NOTIFICATION_ADAPTER, AlertLine, Notification

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


def render_email(notification: Notification) -> RenderedEmail:
    n = notification
    subject = one_line(n.subject) or f"custodywatch: {KIND_TITLES[n.kind]}"
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
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in n.text.strip().split("\n\n")
    )
    body = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>"
        '<body style="font-family: sans-serif">'
        f"{paragraphs}"
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f'<p style="color: #555">Reference: {html.escape(n.idempotency_key)}</p>'
        "</body></html>\n"
    )
    return RenderedEmail(subject, "\n".join(text_lines), body)
