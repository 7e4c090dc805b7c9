"""The definitions printed with every report (docs/reports.md explains them too)."""

from __future__ import annotations

from custodywatch.core.clock import format_span
from custodywatch.core.config import RuleConfig
from custodywatch.report.model import ReportQuery


def suppression_statement(query: ReportQuery) -> str:
    if query.suppress:
        return (
            "Small numbers are suppressed (for distribution outside the force): counts of 1 "
            'to 4 are shown as "<5"; a count marked "*" is withheld so that no total reveals '
            "a small one; shares of withheld counts, and means or medians over fewer than 5 "
            'detentions, are marked "*" too. Zero is shown.'
        )
    return (
        "Small numbers are NOT suppressed: this edition is for use inside the force only "
        "and must not be distributed outside it."
    )


def definitions(query: ReportQuery, rules: RuleConfig) -> tuple[str, ...]:
    night = f"{rules.overnight.window_start:%H:%M}-{rules.overnight.window_end:%H:%M}"
    breach = format_span(rules.detention_duration.breach)
    exempt = ", ".join(
        sorted(str(b).replace("_", " ") for b in rules.la_request.exempt_arrest_bases)
    )
    return (
        suppression_statement(query),
        f"Period: the detentions whose T0 (detention authorised) falls on a date from "
        f"{query.start.day} {query.start:%B %Y} to {query.end.day} {query.end:%B %Y} inclusive, local time "
        f"({rules.time_zones.default}); months are calendar months of T0, local time. "
        "A detention is counted once, in the period and month of its T0, however long it lasts.",
        "Local authority: the child's home local authority. Suite: the suite where detention "
        "was authorised (alerts: the suite where the child was when the alert fell due).",
        f"Child: under {rules.juvenile_age} at T0 by the date of birth last given, else by the "
        "custody officer's recorded belief that the person appears to be under 18 (PACE Code C 1.5).",
        "Detention length: from T0 to release or transfer to local authority accommodation. "
        "Detentions still open at the end of the data count as detentions but not in means "
        "or time bands.",
        f"Six-hour guideline: a local policy, not statute; breached when a child is held longer "
        f"than {breach}.",
        f"Overnight: held at any time between {night} local time (the rules' night window; "
        "a night is named by the date of its 00:00). Before charge: not yet charged at the "
        "start of that night's window.",
        "PACE s.38(6): children charged and refused bail. Exempt: arrested on "
        f"{exempt}. Needing LA accommodation: the others. Request made: any accommodation "
        "request to a local authority. Transferred: moved to LA accommodation. Not transferred: "
        "no request made, or a request made but no accommodation provided (with or without a "
        "custody officer's certificate that transfer was impracticable).",
        f"Children's suites: {', '.join(query.childrens_suites)}.",
        "Identifiers: children appear only under their pseudonymous reference; no names.",
    )
