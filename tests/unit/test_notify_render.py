"""E-mail and webhook rendering: the facts of the notification, escaped, one-line subject."""

from __future__ import annotations

import dataclasses
import json

from notification_builders import notification

from custodywatch.contract.notifications import NOTIFICATION_ADAPTER
from custodywatch.notify.render import render_email, webhook_body


def test_webhook_body_is_the_notification_json() -> None:
    n = notification()
    body = webhook_body(n)
    assert NOTIFICATION_ADAPTER.validate_json(body) == n
    assert json.loads(body)["idempotency_key"] == n.idempotency_key


def test_email_carries_every_alert_fact_in_both_parts() -> None:
    n = notification()
    email = render_email(n)
    line = n.alerts[0]
    for fact in (
        line.custody_record_id,
        line.person_ref,
        line.suite_id,
        line.home_local_authority,
        line.due_at,
        line.raised_at,
        line.summary,
        "detention_duration / breach",
        n.idempotency_key,
    ):
        assert fact in email.text, fact
        assert fact in email.html, fact
    assert email.text.startswith(n.text.rstrip())
    assert email.subject == n.subject
    assert "<table" in email.html and email.html.count("<tr>") == 2  # header + one alert


def test_html_is_escaped() -> None:
    n = notification(summary='<script>alert("x")</script> & more')
    email = render_email(n)
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in email.html
    assert '<script>alert("x")</script> & more' in email.text  # plain text stays plain


def test_subject_is_one_line() -> None:
    n = dataclasses.replace(notification(), subject="CRITICAL\r\nBcc: someone@example.org")
    assert render_email(n).subject == "CRITICAL Bcc: someone@example.org"
    blank = dataclasses.replace(notification(), subject=" \n ")
    assert render_email(blank).subject == "custodywatch: Raised"
