"""Notifications for the notifier tests (pseudonymous, like the real ones)."""

from __future__ import annotations

from custodywatch.contract.notifications import AlertLine, Channel, Notification


def alert_line(
    n: int = 1, summary: str = "Child detained 6h 00m: past the six-hour guideline"
) -> AlertLine:
    return AlertLine(
        alert_id=f"CR-2024-{n:05d}/detention_duration/breach",
        rule="detention_duration",
        stage="breach",
        severity="critical",
        state="raised",
        custody_record_id=f"CR-2024-{n:05d}",
        person_ref=f"P-{n:08x}",
        suite_id="perry-barr",
        home_local_authority="birmingham",
        due_at="2024-03-02T03:00:00Z",
        raised_at="2024-03-02T03:00:01Z",
        summary=summary,
    )


def notification(
    n: int = 1,
    channel: Channel = "webhook",
    address: str = "http://127.0.0.1:9/hook",
    recipient: str = "suite/perry-barr/custody_sergeant",
    summary: str = "Child detained 6h 00m: past the six-hour guideline",
) -> Notification:
    line = alert_line(n, summary)
    return Notification(
        idempotency_key=f"{line.alert_id}/0/{recipient}/raised",
        kind="raised",
        step=0,
        recipient=recipient,
        channel=channel,
        address=address,
        subject=f"CRITICAL: {line.custody_record_id} past six hours at perry-barr",
        text=f"{summary}.\n\nAcknowledge on the custody board.",
        alerts=(line,),
        created_at="2024-03-02T03:00:01Z",
    )
