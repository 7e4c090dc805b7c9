"""The panels and queries of dashboards/custodywatch.json, as the tests read them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboards" / "custodywatch.json"

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
BY = re.compile(r"\bby\s*\(([^)]*)\)")


@dataclass(frozen=True)
class Target:
    panel: str
    unit: str
    expr: str
    legend: str

    @property
    def by_labels(self) -> set[str]:
        """Labels of the outermost grouping clauses, `le` (consumed by quantiles) aside."""
        labels = {label.strip() for group in BY.findall(self.expr) for label in group.split(",")}
        return labels - {"le", ""}

    @property
    def placeholders(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.legend))

    def promql(self, window: str) -> str:
        """The query Grafana sends, its range variables replaced by `window`."""
        return self.expr.replace("$__rate_interval", window).replace("$__range", window)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def targets() -> list[Target]:
    return [
        Target(
            panel=panel["title"],
            unit=panel["fieldConfig"]["defaults"].get("unit", ""),
            expr=target["expr"],
            legend=target.get("legendFormat", ""),
        )
        for panel in panels()
        for target in panel["targets"]
    ]
