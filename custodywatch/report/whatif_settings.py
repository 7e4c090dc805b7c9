"""What-if settings: `--set detention_duration.breach=4h` as a change to the rules,
validated by the rules' own model so that an error names the key; and which alerts
each key governs (the headline counts those).

Pure: text and mappings in, a `RuleConfig` out; no files.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

import yaml
from pydantic import BaseModel

from custodywatch.core.config import MINUTE_US, RuleConfig, RuleConfigError, rules_from_mapping

# Which alerts (`rule/stage`, or `rule/` for every stage of a rule) each section of
# the rules governs. A key `section.field` whose field is also a stage name of the
# section's rule governs that stage alone (detention_duration.breach ->
# detention_duration/breach); any other key of the section governs all its rules'
# stages. Sections not listed (juvenile_age: who is a child) govern every alert.
# tests/unit/test_whatif_settings.py checks this against the rules' stages.
SECTION_RULES: Mapping[str, tuple[str, ...]] = {
    "criminal_responsibility_age": ("under_ten",),
    "time_zones": ("overnight_hold",),
    "detention_duration": ("detention_duration",),
    "overnight": ("overnight_hold",),
    "appropriate_adult": ("appropriate_adult",),
    "review": ("review_overdue",),
    "detention_limit": ("detention_limit",),
    "la_request": ("la_request_missing",),
    "la_response": ("la_response_overdue",),
    "transfer": ("transfer_overdue",),
}
STAGE_KEYS: frozenset[str] = frozenset(
    {
        "detention_duration/approaching",
        "detention_duration/breach",
        "detention_duration/prolonged",
        "appropriate_adult/not_requested",
        "appropriate_adult/not_arrived",
        "la_request_missing/missing",
        "la_request_missing/escalated",
    }
)
"""The `rule/stage` pairs a single key governs (the key's field is the stage's name)."""

_DURATION_TEXT = re.compile(r"^\s*(\d+\s*h)?\s*(\d+\s*m)?\s*$")


class SettingError(ValueError):
    """A `--set` that cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    """Dotted path into the rules, e.g. 'detention_duration.breach'."""
    text: str
    """The value as given, e.g. '4h'."""

    def __str__(self) -> str:
        return f"{self.key}={self.text}"


def parse_setting(text: str) -> Setting:
    """'detention_duration.breach=4h' -> Setting; the key's spelling is checked later."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key or not value.strip():
        raise SettingError(f"--set {text!r}: expected KEY=VALUE, e.g. detention_duration.breach=4h")
    if any(not part for part in key.split(".")):
        raise SettingError(f"--set {text!r}: {key}: empty part in the key")
    return Setting(key, value.strip())


def _value(text: str) -> object:
    """A list is written as YAML ('[warrant, court_remand]'); anything else stays text,
    which the rules' model converts ('17' -> 17), so '22:00' is never read as a number."""
    if text.startswith("["):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text
    return text


def _check_sections(setting: Setting) -> None:
    """Refuse a key that goes through a value ('juvenile_age.years'); a misspelt key
    is left to the rules' model, which names it."""
    *path, _ = setting.key.split(".")
    node: object = RuleConfig()
    for depth, part in enumerate([*path, ""]):  # "": the leaf's parent must be a section
        if isinstance(node, dict):
            return  # a mapping of names (time_zones.suites): any name may be set
        if not isinstance(node, BaseModel):
            where = ".".join(path[:depth])
            raise SettingError(f"--set {setting}: {where} is a value, not a section")
        if part not in type(node).model_fields:
            return
        node = getattr(node, part)


def apply_settings(base: Mapping[str, Any], settings: Sequence[Setting]) -> RuleConfig:
    """The rules `base` (a rules file's mapping) with each setting applied, validated.

    Raises SettingError naming the key: 'detention_duration.brech: unknown key'."""
    data: dict[str, Any] = copy.deepcopy(dict(base))
    for setting in settings:
        _check_sections(setting)
        *path, leaf = setting.key.split(".")
        node = data
        for depth, part in enumerate(path):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # the rules file has a value where a section goes
                where = ".".join(path[: depth + 1])
                raise SettingError(f"--set {setting}: {where} is a value, not a section")
            node = child
        node[leaf] = _value(setting.text)
    try:
        return rules_from_mapping(data)
    except RuleConfigError as exc:
        raise SettingError(f"--set {', '.join(map(str, settings))}: {exc}") from None


def governed(settings: Sequence[Setting]) -> frozenset[str] | None:
    """The alerts the settings govern: `rule/stage` keys, or `rule/` prefixes for every
    stage of a rule; None when a setting governs every alert (who is a child)."""
    keys: set[str] = set()
    for setting in settings:
        section, _, field = setting.key.partition(".")
        rules = SECTION_RULES.get(section)
        if rules is None:
            return None
        stage = f"{rules[0]}/{field.split('.')[0]}"
        keys.update({stage} if stage in STAGE_KEYS else {f"{r}/" for r in rules})
    return frozenset(keys)


def is_governed(alert_key: str, keys: frozenset[str] | None) -> bool:
    """Whether the alert `rule/stage` is one of `governed`'s."""
    if keys is None:
        return True
    rule = alert_key.split("/", 1)[0]
    return alert_key in keys or f"{rule}/" in keys


def _text(value: object, like: str) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and _DURATION_TEXT.match(like) and not like.strip().isdigit():
        hours, minutes = divmod(value // MINUTE_US, 60)
        return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(str(getattr(v, "value", v)) for v in value)) + "]"
    return str(value)


def current_value(rules: RuleConfig, setting: Setting) -> str:
    """The value the current rules have at the setting's key, written like the setting."""
    node: object = rules
    for part in setting.key.split("."):
        if isinstance(node, Mapping):
            node = node.get(part, "(not set)")
        else:
            node = getattr(node, part, "(not set)")
    return _text(node, setting.text)
