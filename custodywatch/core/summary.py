"""One-line alert text a custody sergeant can act on at 3 a.m.

Only pseudonymous facts appear: suite, local authority, times. Never a name.
"""

from __future__ import annotations

from custodywatch.core.clock import format_span
from custodywatch.core.config import RuleConfig
from custodywatch.core.episode import Episode
from custodywatch.core.rules import Deadline

_WORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()


def _hours_word(us: int) -> str:
    minutes = us // 60_000_000
    if minutes % 60 == 0 and minutes // 60 < len(_WORDS):
        return f"{_WORDS[minutes // 60]}-hour"
    return f"{format_span(us)}"


def summarise(ep: Episode, d: Deadline, suite: str, rules: RuleConfig) -> str:
    """`suite`: where the child was at the due time."""
    held = format_span(d.due - ep.t0)
    guideline = f"{_hours_word(rules.detention_duration.breach)} guideline (local policy)"
    match (d.rule, d.stage):
        case ("under_ten", _):
            return (
                f"Child aged {ep.age_at_t0()} detained at {suite}: under "
                f"{rules.criminal_responsibility_age}, below the age of criminal responsibility"
            )
        case ("detention_duration", "approaching"):
            return f"Child held {held} at {suite}: approaching the {guideline}"
        case ("detention_duration", "breach"):
            return f"Child held {held} at {suite}: {guideline} breached"
        case ("detention_duration", _):
            return f"Child held {held} at {suite}: prolonged detention, far beyond the {guideline}"
        case ("overnight_hold", "at_risk"):
            return f"Child held {held} at {suite}: at risk of an overnight hold (night of {d.instance})"
        case ("overnight_hold", _):
            return f"Child held overnight at {suite} (night of {d.instance}), {held} so far"
        case ("appropriate_adult", "not_requested"):
            return f"Child held {held} at {suite}: no appropriate adult requested"
        case ("appropriate_adult", _):
            waited = format_span(d.due - (ep.aa_requested or d.due))
            return f"Child at {suite}: appropriate adult requested {waited} ago has not arrived"
        case ("review_overdue", _):
            return f"Child held {held} at {suite}: PACE s.40 review {d.instance} overdue"
        case ("detention_limit", "approaching"):
            left = format_span(rules.detention_limit.warning_before)
            return f"Child at {suite}: {left} to the {d.instance}h PACE detention limit (s.41)"
        case ("detention_limit", _):
            return f"Child at {suite}: {d.instance}h PACE detention limit (s.41) reached uncharged"
        case ("la_request_missing", "missing"):
            wait = format_span(rules.la_request.missing)
            return (
                f"Child at {suite}: no LA accommodation request {wait} after bail refused (s.38(6))"
            )
        case ("la_request_missing", _):
            wait = format_span(rules.la_request.escalated)
            return (
                f"Child at {suite}: still no LA accommodation request {wait} after bail "
                f"refused (s.38(6)), escalate"
            )
        case ("la_response_overdue", _):
            number = int(d.instance or "1")
            la = ep.la_requests[number - 1][1]
            wait = format_span(rules.la_response.overdue)
            return (
                f"Child at {suite}: {la} has not answered accommodation request {number} in {wait}"
            )
        case ("la_refused", _):
            number = int(d.instance or "1")
            la = ep.la_responses[number - 1][2]
            return f"Child at {suite}: {la} refused LA accommodation (response {number}, s.38(6))"
        case ("transfer_overdue", _):
            la = next(la for _, ok, la, _ in ep.la_responses if ok)
            wait = format_span(rules.transfer.overdue)
            return f"Child at {suite}: not transferred to {la} {wait} after accommodation accepted"
    return f"Child at {suite}: {d.rule} {d.stage}"  # pragma: no cover - every rule is matched above
