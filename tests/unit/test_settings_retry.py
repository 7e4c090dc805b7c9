"""CUSTODYWATCH_NOTIFY_RETRY_BASE_S: the retry schedule's base, read, passed on, bounded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from custodywatch.config import Settings

BROKER = {"CUSTODYWATCH_KAFKA_BOOTSTRAP": "b:1"}


def test_the_retry_base_defaults_to_30_s_and_is_read_from_the_environment() -> None:
    assert Settings.from_env(BROKER).notify_retry_base_s == 30.0
    fast = Settings.from_env({**BROKER, "CUSTODYWATCH_NOTIFY_RETRY_BASE_S": "0.5"})
    assert fast.notify_retry_base_s == 0.5
    assert Settings.from_env(fast.to_env()).notify_retry_base_s == 0.5  # serve's env


@pytest.mark.parametrize("value", ["0", "-1", "3601", "soon"])
def test_a_retry_base_outside_0_to_an_hour_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="notify_retry_base_s"):
        Settings.from_env({**BROKER, "CUSTODYWATCH_NOTIFY_RETRY_BASE_S": value})
