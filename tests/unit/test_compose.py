"""docker-compose.yml: valid Compose, and consistent with this repository and its CLI.

No Docker engine or compose plugin is needed. The file is validated against the official
Compose Specification JSON Schema, which this repository does not keep a copy of: the
check-jsonschema wheel on PyPI vendors it (from the compose-spec project), so the test
downloads that wheel with pip, pinned by version and digest, and caches the one schema file
under ~/.cache/custodywatch/compose-spec/ so that later runs are offline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from custodywatch.cli_parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

EXPECTED_COMMANDS = {
    "worker": "custodywatch worker",
    "simulator": "custodywatch simulate --seed 1 --kafka --speed 3600",
}
# Mounted into Prometheus; written alongside the alert rules in alerts/.
PROMETHEUS_FILES = {"alerts/prometheus.yml", "alerts/prometheus-rules.yml"}
# Mounted into Grafana: where it looks for provisioning, and where the provider reads dashboards.
GRAFANA_MOUNTS = {
    "dashboards/provisioning": "/etc/grafana/provisioning",
    "dashboards/custodywatch.json": "/var/lib/grafana/dashboards/custodywatch.json",
}

# Where the Compose Specification schema comes from: a file inside a pinned PyPI wheel.
SCHEMA_PACKAGE = "check-jsonschema"
SCHEMA_PACKAGE_VERSION = "0.39.0"
SCHEMA_WHEEL = "check_jsonschema-0.39.0-py3-none-any.whl"
SCHEMA_WHEEL_SHA256 = "14ce5c94871c551268ea948ffe21e9f1464dc48fb20bf9a4c13deeaaf756cf9b"
SCHEMA_MEMBER = "check_jsonschema/builtin_schemas/vendor/compose-spec.json"
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"
SCHEMA_CACHE = (
    Path.home()
    / ".cache"
    / "custodywatch"
    / "compose-spec"
    / f"{SCHEMA_PACKAGE}-{SCHEMA_PACKAGE_VERSION}"
    / "compose-spec.json"
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download_schema() -> bytes:
    """The schema file out of the pinned wheel, fetched from the package index by pip."""
    with tempfile.TemporaryDirectory() as tmp:
        pip = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--quiet",
                "--dest",
                tmp,
                f"{SCHEMA_PACKAGE}=={SCHEMA_PACKAGE_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if pip.returncode != 0:
            pytest.fail(
                f"could not download {SCHEMA_PACKAGE}=={SCHEMA_PACKAGE_VERSION} for the "
                f"Compose Specification schema (pip exit {pip.returncode}):\n{pip.stderr}"
            )
        wheel = Path(tmp) / SCHEMA_WHEEL
        digest = _sha256(wheel.read_bytes())
        assert digest == SCHEMA_WHEEL_SHA256, f"{SCHEMA_WHEEL} has digest {digest}"
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(SCHEMA_MEMBER)


def compose_schema_bytes() -> bytes:
    """The cached schema when it is intact, else a fresh download written to the cache."""
    if SCHEMA_CACHE.is_file():
        data = SCHEMA_CACHE.read_bytes()
        if _sha256(data) == SCHEMA_SHA256:
            return data
    data = _download_schema()
    assert _sha256(data) == SCHEMA_SHA256, f"{SCHEMA_MEMBER} in {SCHEMA_WHEEL} changed"
    SCHEMA_CACHE.parent.mkdir(parents=True, exist_ok=True)
    partial = SCHEMA_CACHE.with_name(f"{SCHEMA_CACHE.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(SCHEMA_CACHE)  # atomic: a concurrent run sees all of it or none
    return data


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(compose_schema_bytes())
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Validator:
    # The draft the schema declares in $schema; None (not a silent default) if it is unknown.
    cls = validator_for(schema, default=None)  # type: ignore[arg-type]  # stubs omit None
    assert cls is not None, f"unknown $schema {schema.get('$schema')!r}"
    cls.check_schema(schema)
    # No format checker: Compose durations such as "10s" are not ISO 8601 "duration"s.
    return cls(schema)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


def _errors(validator: Validator, document: Any) -> list[str]:
    found = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]


def _command(service: dict[str, Any]) -> str:
    command = service.get("command")
    if isinstance(command, list):
        return shlex.join(command)
    assert isinstance(command, str), f"command {command!r}"
    return command


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    return {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def _local_mounts(compose: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(service, host path relative to the repo) for each bind mount of a local path."""
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str):
                source = volume.split(":", 1)[0] if ":" in volume else ""
            elif volume.get("type") == "bind":
                source = volume["source"]
            else:
                continue
            if source.startswith((".", "/", "~")):
                path = (ROOT / source).resolve()
                yield name, path.relative_to(ROOT).as_posix()


def test_schema_is_the_compose_specification(schema: dict[str, Any]) -> None:
    assert schema["title"] == "Compose Specification"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert validator_for(schema, default=None) is Draft202012Validator  # type: ignore[arg-type]
    assert {"services", "volumes", "networks"} <= schema["properties"].keys()


def test_compose_file_is_valid(validator: Validator, compose: dict[str, Any]) -> None:
    assert _errors(validator, compose) == []
    assert set(compose["services"]) == {
        *("kafka", "postgres", "worker", "serve", "simulator", "prometheus", "grafana")
    }


def test_validator_rejects_a_broken_compose_document(validator: Validator) -> None:
    broken = yaml.safe_load("services: {x: {image: 5, bogus_key: 1}}")
    errors = _errors(validator, broken)
    assert any(e.startswith("services/x/image:") and "is not of type 'string'" in e for e in errors)
    assert any(e.startswith("services/x:") and "'bogus_key'" in e for e in errors), errors
    assert _errors(validator, {"services": {"x": {"image": "busybox"}}}) == []


def test_every_build_has_a_dockerfile(compose: dict[str, Any]) -> None:
    builds = {n: s["build"] for n, s in compose["services"].items() if "build" in s}
    assert builds.keys() >= EXPECTED_COMMANDS.keys()
    for name, build in builds.items():
        spec = {"context": build} if isinstance(build, str) else build
        context = ROOT / spec.get("context", ".")
        dockerfile = context / spec.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: no {dockerfile.relative_to(ROOT)}"


def test_commands_are_the_expected_ones(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {name: _command(services[name]) for name in EXPECTED_COMMANDS} == EXPECTED_COMMANDS


def test_commands_are_custodywatch_subcommands() -> None:
    known = _subcommands(build_parser())
    for service, command in EXPECTED_COMMANDS.items():
        program, subcommand, *_ = shlex.split(command)
        assert program == "custodywatch", service
        assert subcommand in known, f"{service}: `{subcommand}` is not one of {sorted(known)}"


def test_commands_parse_with_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    for service, command in EXPECTED_COMMANDS.items():
        try:
            build_parser().parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"{service}: `{command}` is rejected: {capsys.readouterr().err}")


def test_mounted_local_files_exist(compose: dict[str, Any]) -> None:
    mounts = set(_local_mounts(compose))
    assert {("prometheus", path) for path in PROMETHEUS_FILES} <= mounts
    missing = sorted(f"{service}: {path}" for service, path in mounts if not (ROOT / path).exists())
    assert missing == []


def test_grafana_is_provisioned_with_the_dashboard_and_the_prometheus_source(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {}
    for volume in grafana["volumes"]:
        source, target, mode = volume.split(":")
        assert mode == "ro", volume
        mounts[(ROOT / source).resolve().relative_to(ROOT).as_posix()] = target
    assert mounts == GRAFANA_MOUNTS
    provisioning = ROOT / "dashboards" / "provisioning"
    (source,) = yaml.safe_load(
        (provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"]
    assert source["type"] == "prometheus"
    # The compose service name and the port Prometheus listens on in its image.
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in grafana["depends_on"]
    (provider,) = yaml.safe_load(
        (provisioning / "dashboards" / "custodywatch.yml").read_text(encoding="utf-8")
    )["providers"]
    dashboard_dir = provider["options"]["path"]
    assert GRAFANA_MOUNTS["dashboards/custodywatch.json"].startswith(f"{dashboard_dir}/")
    dashboard = json.loads((ROOT / "dashboards" / "custodywatch.json").read_text(encoding="utf-8"))
    used = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert used == {source["uid"]}


def test_dependencies_and_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
            if source and not source.startswith((".", "/", "~")):  # a named volume
                assert source in compose.get("volumes", {}), f"{name}: volume {source}"
    assert services["worker"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["simulator"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv"} <= set(ignored)
