"""alerts/escalation.yaml and alerts/routing.yaml: the shipped files load; bad files name the key."""

from __future__ import annotations

import pytest
from lifecycle_kit import POLICY, ROOT, ROUTING, alert

from custodywatch.core import rules
from custodywatch.lifecycle.policy import (
    CRITICAL_LADDER,
    RULE_STAGES,
    EscalationPolicy,
    PolicyError,
    policy_from_yaml,
)
from custodywatch.lifecycle.routing import RoutingError, routing_from_yaml

SUITES = {
    "perry-barr",
    "steelhouse",
    "oldbury",
    "coventry",
    "wolverhampton",
    "solihull",
    "walsall",
    "bournville-lane",
}
LAS = {"birmingham", "coventry", "dudley", "sandwell", "solihull", "walsall", "wolverhampton"}


def test_shipped_escalation_file_is_the_built_in_defaults() -> None:
    assert POLICY == EscalationPolicy() == policy_from_yaml("")


def test_shipped_routing_covers_the_simulated_force_with_secrets_by_name_only() -> None:
    assert set(ROUTING.suites) == SUITES
    assert set(ROUTING.local_authorities) == LAS
    text = (ROOT / "alerts" / "routing.yaml").read_text()
    assert "secret:" not in text
    target = ROUTING.resolve("custody_sergeant", alert(suite="walsall"))
    hook = next(a for a in target.addresses if a.channel == "webhook")
    assert hook.secret_env == "CUSTODYWATCH_HOOK_SECRET_WALSALL"


def test_the_policy_knows_every_rule_stage_of_the_engine() -> None:
    stages = {v.key for v in vars(rules).values() if isinstance(v, rules._Stage)}
    assert stages == RULE_STAGES


def test_the_most_specific_ladder_and_extras_win() -> None:
    policy = policy_from_yaml(
        "rules:\n"
        "  under_ten:\n"
        "    steps: [{after: 0m, notify: [custody_sergeant, superintendent]}]\n"
        "  detention_duration/prolonged:\n"
        "    steps: [{after: 0m, notify: [duty_inspector]}]\n"
        "also_at_raise:\n"
        "  overnight_hold/overnight: [out_of_hours]\n"
    )
    assert policy.ladder(alert("under_ten", "detained")).steps[0].notify == (
        "custody_sergeant",
        "superintendent",
    )
    assert policy.ladder(alert("detention_duration", "prolonged")).steps[0].notify == (
        "duty_inspector",
    )
    assert policy.ladder(alert()) == CRITICAL_LADDER
    assert policy.extras(alert("overnight_hold", "overnight")) == ("out_of_hours",)
    assert policy.extras(alert("la_refused", "refused")) == ()  # the file replaced the table


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("severities:\n  critical:\n    steps: [{after: 5m, notify: [custody_sergeant]}]\n",
         "severities.critical.steps: the first step must be at 0m"),
        ("severities:\n  warning:\n    steps:\n      - {after: 0m, notify: [custody_sergeant]}\n"
         "      - {after: 0m, notify: [duty_inspector]}\n",
         "severities.warning.steps: each step must come after"),
        ("severities:\n  critical:\n    steps: [{after: 15, notify: [custody_sergeant]}]\n",
         "severities.critical.steps[0].after: expected a duration"),
        ("severities:\n  critical:\n    steps: [{after: 0m, notify: [constable]}]\n",
         "severities.critical.steps[0].notify[0]"),
        ("severities:\n  critical:\n    repeat: {notify: [superintendent]}\n",
         "severities.critical.steps: missing"),
        ("severities:\n  critical:\n    steps: [{after: 0m, notify: [custody_sergeant]}]\n"
         "    repeat: {every: 0m, notify: [superintendent]}\n",
         "severities.critical.repeat.every"),
        ("severities:\n  severe: {}\n", "severities.severe: unknown key"),
        ("rules:\n  la_refsued:\n    steps: [{after: 0m, notify: [duty_inspector]}]\n",
         "rules: 'la_refsued' is not a rule"),
        ("also_at_raise:\n  la_refused: []\n", "also_at_raise.la_refused"),
        ("group_window: 60\n", "group_window: expected a duration"),
        ("version: 2\n", "version"),
        ("- a list\n", "top level"),
        ("severities: [\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_invalid_policy_names_the_key(text: str, names: str) -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_yaml(text)
    assert names in str(info.value)


GOOD_FORCE = (
    "force:\n"
    "  superintendent: {channels: [{type: email, address: s@force.example.invalid}]}\n"
    "  fallback: {channels: [{type: kafka, topic: custody.notifications.v1}]}\n"
)
SERGEANT = "suites:\n  perry-barr:\n    duty_inspector: {channels: [{type: email, address: i@x.invalid}]}\n"
LAS_OK = "local_authorities: {}\n"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (GOOD_FORCE + SERGEANT + "    custody_sergeant: {channels: [{type: webhook, secret_env: S}]}\n"
         + LAS_OK, "suites.perry-barr.custody_sergeant.channels[0].url: missing"),
        (GOOD_FORCE + SERGEANT + "    custody_sergeant:\n      channels:\n"
         "        - {type: webhook, url: 'http://127.0.0.1:1/x', secret: hunter2}\n" + LAS_OK,
         "suites.perry-barr.custody_sergeant.channels[0]: a secret never goes in this file"),
        (GOOD_FORCE + SERGEANT + "    custody_sergeant:\n      channels:\n"
         "        - {type: webhook, url: 'http://127.0.0.1:1/x', secret_env: hunter2}\n" + LAS_OK,
         "suites.perry-barr.custody_sergeant.channels[0].secret_env"),
        (GOOD_FORCE + SERGEANT + "    custody_sergeant: {channels: [{type: email, address: nobody}]}\n"
         + LAS_OK, "suites.perry-barr.custody_sergeant.channels[0].address"),
        (GOOD_FORCE + SERGEANT + "    custody_sergeant: {channels: [{type: sms, number: '1'}]}\n"
         + LAS_OK, "suites.perry-barr.custody_sergeant.channels[0]: Input tag 'sms'"),
        (GOOD_FORCE + SERGEANT + "    custody_sergeant: {channels: []}\n" + LAS_OK,
         "suites.perry-barr.custody_sergeant.channels"),
        (GOOD_FORCE + SERGEANT + LAS_OK, "suites.perry-barr.custody_sergeant: missing"),
        (GOOD_FORCE + "suites: {}\nlocal_authorities:\n  birmingham:\n"
         "    out_of_hours: {channels: [{type: kafka, topic: 'no spaces'}]}\n",
         "local_authorities.birmingham.out_of_hours.channels[0].topic"),
        (GOOD_FORCE + "suites: {}\nlocal_authorities:\n  birmingham:\n"
         "    out_of_hours: {channels: [{type: kafka, topic: t}]}\n",
         "local_authorities.birmingham.safeguarding_partnership: missing"),
        (GOOD_FORCE + "suites: {Perry Barr: {}}\n" + LAS_OK, "suites.Perry Barr: 'Perry Barr': an id"),
        ("suites: {}\n" + LAS_OK, "force: missing"),
        (GOOD_FORCE + "suites: {}\n" + LAS_OK + "teams: {}\n", "teams: unknown key"),
        ("force: [\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_invalid_routing_names_the_key(text: str, names: str) -> None:
    with pytest.raises(RoutingError) as info:
        routing_from_yaml(text)
    assert names in str(info.value)
