"""YAML loading shared by the policy and routing files: durations, and errors that name the key."""

from __future__ import annotations

import re
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US

_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(value: object) -> int:
    """'15m', '1h', '90s', '0m' -> microseconds. Bare numbers are refused: units matter."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
            return ((hours * 60 + minutes) * 60 + seconds) * SECOND_US
    raise ValueError(f"expected a duration like '15m', '1h' or '90s', got {value!r}")


Duration = Annotated[int, BeforeValidator(parse_duration), Field(ge=0)]
PositiveDuration = Annotated[int, BeforeValidator(parse_duration), Field(gt=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _key_path(loc: tuple[int | str, ...], tags: frozenset[str]) -> str:
    """('suites', 'x', 'channels', 0, 'webhook', 'url') -> 'suites.x.channels[0].url'.

    pydantic puts the tag of a tagged union after the list index; a person
    wrote `type: webhook`, not a `webhook:` key, so the tag is left out.
    """
    path = ""
    previous: int | str | None = None
    for part in loc:
        if part == "[key]":
            continue  # the error is about the key itself, already named
        if isinstance(part, int):
            path += f"[{part}]"
        elif not (isinstance(previous, int) and part in tags):
            path += f".{part}" if path else part
        previous = part
    return path or "(top level)"


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing"
    return str(err["msg"]).removeprefix("Value error, ")


def load(
    text: str,
    model: type[BaseModel],
    what: str,
    error: type[ValueError],
    union_tags: frozenset[str] = frozenset(),
) -> Any:
    """Parse YAML text into `model`, raising `error` whose message names each bad key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{what}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{what}: the top level must be a mapping of sections")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        locs = [tuple(e["loc"]) for e in errors]
        problems = [
            f"{_key_path(loc, union_tags)}: {_message(e)}"
            for e, loc in zip(errors, locs, strict=True)
            # a list whose items failed is also reported "too short": say it once
            if not (e["type"] == "too_short" and any(o[: len(loc)] == loc != o for o in locs))
        ]
        raise error(f"invalid {what}: " + "; ".join(problems)) from None
