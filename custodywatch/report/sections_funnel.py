"""PACE s.38(6), per home local authority: from children charged and refused bail
to children moved to LA accommodation, and why the others were not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from custodywatch.core.config import RuleConfig
from custodywatch.report.facts import Facts
from custodywatch.report.model import Chart, Row, Section, Table
from custodywatch.report.tables import TOTAL, Line, Split, grid, median_minutes

NO_REASON = "no reason given"


def _stages(f: Facts, exempt: frozenset[str]) -> list[str]:
    """The funnel rows a remanded child counts in."""
    s = f.summary
    if s.arrest_basis in exempt:
        return ["remanded", "exempt", f"exempt:{s.arrest_basis}"]
    out = ["remanded", "needing"]
    if s.la_requests:
        out.append("requested")
        out.append(s.la_requests[0].accommodation_type)
        outcomes = {r.outcome for r in s.la_responses}
        out.append(
            "accepted" if "accepted" in outcomes else "refused" if outcomes else "no_response"
        )
    if f.transferred is not None:
        out.append("transferred")
        return out
    out += ["not_transferred", "no_accommodation" if s.la_requests else "not_requested"]
    out.append("certified" if s.transfer_impracticable_at is not None else "not_certified")
    return out


def funnel(remanded: Sequence[Facts], las: Sequence[str], rules: RuleConfig) -> Table:
    exempt = frozenset(str(b) for b in rules.la_request.exempt_arrest_bases)
    bases = sorted(exempt)
    counts: Counter[tuple[str, str]] = Counter()
    for f in remanded:
        for stage in _stages(f, exempt):
            counts[stage, f.summary.home_local_authority] += 1
    lines = (
        Line("remanded", "Charged and refused bail"),
        Line("exempt", "exempt by arrest basis", 1),
        *(Line(f"exempt:{b}", b.replace("_", " "), 2) for b in bases),
        Line("needing", "needing LA accommodation", 1),
        Line("requested", "request made", 2),
        Line("secure", "secure accommodation requested", 3),
        Line("non_secure", "non-secure accommodation requested", 3),
        Line("accepted", "accepted", 3),
        Line("refused", "refused (no acceptance)", 3),
        Line("no_response", "no response recorded", 3),
        Line("transferred", "transferred to LA accommodation", 2),
        Line("not_transferred", "not transferred", 2),
        Line("not_requested", "no request made", 3),
        Line("no_accommodation", "request made, no accommodation", 3),
        Line("certified", "impracticability certified", 3),
        Line("not_certified", "no impracticability certificate", 3),
    )
    splits = [
        Split("remanded", ("exempt", "needing")),
        Split("exempt", tuple(f"exempt:{b}" for b in bases)),
        Split("requested", ("secure", "non_secure")),
        Split("requested", ("accepted", "refused", "no_response")),
        Split("needing", ("transferred", "not_transferred")),
        Split("not_transferred", ("not_requested", "no_accommodation")),
        Split("not_transferred", ("certified", "not_certified")),
    ]
    index = {line.key: i for i, line in enumerate(lines)}
    chart_rows = ("remanded", "needing", "requested", "accepted", "transferred")
    return grid(
        "funnel",
        "PACE s.38(6): children charged and refused bail, by home local authority",
        lines,
        las,
        counts,
        splits,
        notes=(
            "Secure / non-secure: the first request's type. Accepted: any response accepted.",
            "Exempt: arrested on "
            + ", ".join(b.replace("_", " ") for b in bases)
            + " (no duty to transfer).",
        ),
        chart=Chart(
            "bars",
            rows=tuple(index[k] for k in chart_rows),
            column=len(las),
            title="s.38(6) funnel",
        ),
    )


def funnel_times(remanded: Sequence[Facts], las: Sequence[str]) -> Table:
    rows = []
    for key, label, until in (
        ("to_request", "Median time from bail refused to the first request", "request"),
        ("to_transfer", "Median time from bail refused to transfer", "transfer"),
    ):
        per_la: dict[str, list[float]] = {la: [] for la in las}
        for f in remanded:
            end = f.first_request if until == "request" else f.transferred
            if f.bail_refused is not None and end is not None:
                minutes = (end - f.bail_refused).total_seconds() / 60
                per_la.setdefault(f.summary.home_local_authority, []).append(minutes)
        cells = [median_minutes(per_la[la]) for la in las]
        cells.append(median_minutes([m for la in las for m in per_la[la]]))
        rows.append(Row(key, label, tuple(cells)))
    return Table(
        "funnel_times",
        "PACE s.38(6): how long it took (hh:mm)",
        (*las, TOTAL),
        tuple(rows),
        notes=("Medians over the children concerned; withheld when fewer than 5.",),
    )


def refusals(remanded: Sequence[Facts], las: Sequence[str]) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    for f in remanded:
        for r in f.summary.la_responses:
            if r.outcome == "refused":
                reason = r.reason or NO_REASON
                counts[f"reason:{reason}", f.summary.home_local_authority] += 1
                counts["all", f.summary.home_local_authority] += 1
    reasons = sorted(
        {key for key, _ in counts if key != "all"},
        key=lambda k: (-sum(n for (r, _), n in counts.items() if r == k), k),
    )
    lines = (Line("all", "Refusals"), *(Line(k, k.removeprefix("reason:"), 1) for k in reasons))
    return grid(
        "la_refusals",
        "PACE s.38(6): local authority refusals, with the reasons given",
        lines,
        las,
        counts,
        [Split("all", tuple(reasons))] if reasons else [],
        notes=("Each refusing response counts once; the reason is the local authority's words.",),
    )


def section(children: Sequence[Facts], las: Sequence[str], rules: RuleConfig) -> Section:
    remanded = [f for f in children if f.bail_refused is not None]
    return Section(
        "s38",
        "Children charged and refused bail (PACE s.38(6))",
        (funnel(remanded, las, rules), funnel_times(remanded, las), refusals(remanded, las)),
    )
