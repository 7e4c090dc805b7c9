"""Hand-made episode summaries and alerts for report tests.

ep = summary("CR1", t0="2025-04-03T10:00:00Z", hours=7)          # a child held 7h
ep = summary("CR2", adult=True, hours=15)
ep = remanded("CR3", la="dudley", requested=True, transferred=True)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from custodywatch.contract.alerts import AlertRecord
from custodywatch.contract.episodes import (
    AgeBand,
    EpisodeSummary,
    LaRequest,
    LaResponse,
    Night,
    SuiteStay,
)
from custodywatch.core.config import RuleConfig
from custodywatch.report.engine import build_report
from custodywatch.report.model import Report, ReportQuery

T0 = "2025-04-03T10:00:00Z"
MADE = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
APRIL = ReportQuery(start=date(2025, 4, 1), end=date(2025, 4, 30))


def at(t0: str, hours: float) -> str:
    moment = datetime.fromisoformat(t0) + timedelta(hours=hours)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def summary(
    rid: str,
    *,
    person: str | None = None,
    t0: str = T0,
    hours: float | None = 4.0,
    adult: bool = False,
    suite: str = "perry-barr",
    la: str = "birmingham",
    age_band: AgeBand = "14-15",
    sex: str | None = "male",
    looked_after: bool | None = False,
    basis: str = "new_offence",
    charged_h: float | None = None,
    bail_refused_h: float | None = None,
    requests: Iterable[tuple[float, Literal["secure", "non_secure"]]] = (),
    responses: Iterable[tuple[float, Literal["accepted", "refused"], str | None]] = (),
    impracticable_h: float | None = None,
    transferred_h: float | None = None,
    nights: Iterable[tuple[str, bool]] = (),
) -> EpisodeSummary:
    """`hours`: length of detention (None: still held); other `*_h`: hours after T0."""

    def maybe(h: float | None) -> str | None:
        return None if h is None else at(t0, h)

    end_h = transferred_h if transferred_h is not None else hours
    ended: Any = None if end_h is None else ("transferred_to_la" if transferred_h else "released")
    return EpisodeSummary(
        custody_record_id=rid,
        person_ref=person or f"P-{rid}",
        suite_id=suite,
        suites=(SuiteStay(suite, t0),),
        home_local_authority=la,
        juvenile=not adult,
        age_at_t0=30 if adult else 15,
        age_band="18 and over" if adult else age_band,
        sex=sex,
        looked_after_child=looked_after,
        arrest_basis=basis,
        offence_category="theft",
        arrested_at=at(t0, -1),
        arrived_at=at(t0, -0.5),
        detention_authorised_at=t0,
        appropriate_adult_requested_at=None,
        appropriate_adult_arrived_at=None,
        reviews=(),
        charged_at=maybe(charged_h),
        bail_refused_at=maybe(bail_refused_h),
        la_requests=tuple(LaRequest(at(t0, h), la, kind) for h, kind in requests),
        la_responses=tuple(LaResponse(at(t0, h), la, out, why) for h, out, why in responses),
        transfer_impracticable_at=maybe(impracticable_h),
        transferred_to_la_at=maybe(transferred_h),
        transferred_to_la=la if transferred_h is not None else None,
        nights=tuple(Night(n, pre) for n, pre in nights),
        ended_at=maybe(end_h),
        end=ended,
        disposal=None,
        next_deadline=None,
        updated_at=at(t0, end_h or 0),
    )


def alert(
    rid: str,
    rule: str = "detention_duration",
    stage: str = "breach",
    *,
    la: str = "birmingham",
    suite: str = "perry-barr",
    state: Literal["raised", "resolved", "retracted"] = "raised",
    raised_at: str = "2025-04-03T16:00:00Z",
) -> AlertRecord:
    return AlertRecord(
        alert_id=f"{rid}/{rule}/{stage}",
        rule=rule,
        stage=stage,
        instance=None,
        severity="critical",
        custody_record_id=rid,
        suite_id=suite,
        person_ref=f"P-{rid}",
        home_local_authority=la,
        due_at=raised_at,
        raised_at=raised_at,
        summary="Child held 6h 00m at perry-barr: six-hour guideline (local policy) breached",
        state=state,
        state_at=raised_at,
        evidence_event_id=None,
    )


def report(
    episodes: Iterable[EpisodeSummary],
    alerts: Iterable[AlertRecord] = (),
    query: ReportQuery = APRIL,
    **kwargs: Any,
) -> Report:
    return build_report(list(episodes), list(alerts), query, RuleConfig(), MADE, **kwargs)
