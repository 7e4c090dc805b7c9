"""Fetch the Apache Kafka broker jars from Maven Central, using Maven itself.

A throw-away pom.xml depending on ``org.apache.kafka:kafka_2.13:<version>`` (plus an
SLF4J binding so the broker's own log reaches a file) is written into the cache dir, and
``mvn dependency:copy-dependencies`` copies the runtime classpath into ``libs/``. A
marker file records a finished fetch, so later calls return at once.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from pathlib import Path

DEFAULT_KAFKA_VERSION = "4.3.1"
ENV_VERSION = "CUSTODYWATCH_KAFKA_VERSION"
ENV_CACHE = "CUSTODYWATCH_KAFKA_CACHE"

# The broker logs through the SLF4J 1.7 API, but its pom brings no SLF4J binding (the
# binary distribution adds one to libs/). Without one the broker log is silently empty.
# Kafka 4.x: Log4j 2 (log4j-core is already a dependency) behind log4j-slf4j-impl.
# Kafka 3.x: reload4j (the Log4j 1 API) behind slf4j-reload4j.
LOG4J2_VERSION = "2.25.4"
SLF4J_RELOAD4J_VERSION = "1.7.36"
_MARKER = ".complete"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class KafkaToolMissingError(RuntimeError):
    """``java`` or ``mvn`` is not installed: a local broker cannot be fetched or run."""


def default_version() -> str:
    return os.environ.get(ENV_VERSION, "").strip() or DEFAULT_KAFKA_VERSION


def major_version(version: str) -> int:
    return int(version.split(".", 1)[0])


def cache_dir(version: str) -> Path:
    """``$CUSTODYWATCH_KAFKA_CACHE/<version>``, else ``~/.cache/custodywatch/kafka/<version>``."""
    base = os.environ.get(ENV_CACHE, "").strip()
    if base:
        root = Path(base).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "custodywatch" / "kafka"
    return root / version


def _dependency(group: str, artifact: str, version: str) -> str:
    return (
        "    <dependency>\n"
        f"      <groupId>{group}</groupId>\n"
        f"      <artifactId>{artifact}</artifactId>\n"
        f"      <version>{version}</version>\n"
        "    </dependency>\n"
    )


def pom_xml(version: str) -> str:
    """A pom whose runtime classpath is a runnable Kafka broker of ``version``."""
    deps = _dependency("org.apache.kafka", "kafka_2.13", version)
    managed = ""
    if major_version(version) >= 4:
        deps += _dependency("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J2_VERSION)
        # Keep log4j-api/core on the bridge's version rather than Kafka's transitive one.
        managed = (
            "  <dependencyManagement>\n    <dependencies>\n"
            + _dependency("org.apache.logging.log4j", "log4j-api", LOG4J2_VERSION)
            + _dependency("org.apache.logging.log4j", "log4j-core", LOG4J2_VERSION)
            + "    </dependencies>\n  </dependencyManagement>\n"
        )
    else:
        deps += _dependency("org.slf4j", "slf4j-reload4j", SLF4J_RELOAD4J_VERSION)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>custodywatch.localkafka</groupId>\n"
        f"  <artifactId>kafka-broker-{version}</artifactId>\n"
        "  <version>1</version>\n"
        "  <packaging>pom</packaging>\n"
        f"{managed}"
        f"  <dependencies>\n{deps}  </dependencies>\n"
        "</project>\n"
    )


def ensure_kafka_jars(version: str | None = None) -> Path:
    """Return the ``libs/`` dir holding every jar the broker needs, fetching it if needed.

    Safe to call from several processes at once (a file lock serialises the fetch).
    """
    version = version or default_version()
    root = cache_dir(version)
    libs = root / "libs"
    if (root / _MARKER).is_file():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaToolMissingError("`mvn` (Apache Maven) is not on PATH; cannot fetch Kafka")
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / _MARKER).is_file():  # another process fetched it meanwhile
            return libs
        (root / "pom.xml").write_text(pom_xml(version), encoding="utf-8")
        staging = root / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(root / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            lines = _ANSI.sub("", result.stdout + result.stderr).splitlines()
            errors = [line for line in lines if "[ERROR]" in line and line.strip() != "[ERROR]"]
            raise RuntimeError(
                f"fetching Kafka {version} with Maven failed (exit {result.returncode}):\n"
                + " ".join(cmd)
                + "\n"
                + "\n".join((errors or lines)[:8])
            )
        if not any(staging.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"Maven ran but {staging} holds no kafka_2.13 jar")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        (root / _MARKER).write_text(
            "\n".join(sorted(p.name for p in libs.glob("*.jar"))) + "\n", encoding="utf-8"
        )
    return libs
