"""JSON Schema files generated from the contract models (`custodywatch schemas export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from custodywatch.contract.alerts import ALERT_ADAPTER
from custodywatch.contract.episodes import EPISODE_ADAPTER
from custodywatch.contract.events import EVENT_ADAPTER
from custodywatch.contract.notifications import NOTIFICATION_ADAPTER
from custodywatch.core.config import RuleConfig

BASE_URI = "https://custodywatch.invalid/schemas/"


def default_dir() -> Path:
    """The repository's schemas/ when run from a source checkout (wherever the
    current directory is), else schemas/ in the current directory."""
    checkout = Path(__file__).resolve().parents[1] / "schemas"
    return checkout if checkout.is_dir() else Path("schemas")


def _titled(schema: dict[str, Any], name: str, title: str, description: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_URI + name,
        "title": title,
        "description": description,
        **schema,
    }


def generated_schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema. The single source for export and the drift check."""
    return {
        "custody-event.v1.schema.json": _titled(
            EVENT_ADAPTER.json_schema(mode="validation"),
            "custody-event.v1.schema.json",
            "Custody event (v1)",
            "One message on custody.events.v1, or one line of a replay file.",
        ),
        "alert.v2.schema.json": _titled(
            ALERT_ADAPTER.json_schema(mode="serialization"),
            "alert.v2.schema.json",
            "Welfare alert (record version 2: with state)",
            "One message on custody.alerts.v1 (an alert's raise, resolution or retraction), "
            "or one line of replay output.",
        ),
        "episode.v1.schema.json": _titled(
            EPISODE_ADAPTER.json_schema(mode="serialization"),
            "episode.v1.schema.json",
            "Episode summary (v1)",
            "One message on the compacted custody.episodes.v1 topic: an episode's facts.",
        ),
        "notification.v1.schema.json": _titled(
            NOTIFICATION_ADAPTER.json_schema(mode="serialization"),
            "notification.v1.schema.json",
            "Notification (v1)",
            "One message on custody.notifications.v1, and the body of a signed webhook.",
        ),
        "rules.schema.json": _titled(
            TypeAdapter(RuleConfig).json_schema(mode="serialization"),
            "rules.schema.json",
            "Welfare rule thresholds",
            "alerts/rules.yaml (durations in microseconds after parsing; write '5h', '90m').",
        ),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generated_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def drift(directory: Path) -> list[str]:
    """Names of files that are missing or differ from what the models generate."""
    return [
        name
        for name, schema in generated_schemas().items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != render(schema)
    ]
