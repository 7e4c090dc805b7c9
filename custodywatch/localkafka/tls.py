"""Throw-away TLS material for a local broker: a self-signed CA and a broker certificate.

Made with ``openssl`` (the keys, the CA, the signed broker certificate for 127.0.0.1 and
localhost) and the JDK's ``keytool`` (the broker's PKCS12 keystore, which is what the
JVM reads), in a directory of the caller's choosing. For tests and demos only: the
keys are unencrypted on disk and the keystore password is random per broker.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from custodywatch.localkafka.fetch import KafkaToolMissingError

_DAYS = "2"  # the broker lives for a test session; a short life limits a leaked key
_SUBJECT_ALT_NAMES = "subjectAltName=IP:127.0.0.1,DNS:localhost"


@dataclass(frozen=True)
class BrokerTls:
    """What the broker's SSL settings and its clients need."""

    cafile: Path
    """The CA certificate (PEM): clients trust it (``CUSTODYWATCH_KAFKA_SSL_CAFILE``)."""
    keystore: Path
    """The broker's key and certificate chain, PKCS12."""
    keystore_password: str


def _tool(name: str) -> str:
    """On PATH; keytool beside the JDK that runs the broker when JAVA_HOME names one."""
    java_home = os.environ.get("JAVA_HOME", "").strip()
    if name == "keytool" and java_home and (Path(java_home) / "bin" / name).is_file():
        return str(Path(java_home) / "bin" / name)
    path = shutil.which(name)
    if path is None:
        raise KafkaToolMissingError(f"`{name}` is not on PATH; it makes the broker's TLS keys")
    return path


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(cmd[0]).name} {cmd[1]} failed (exit {done.returncode}): "
            f"{(done.stdout + done.stderr).strip()[-1000:]}"
        )


def make_ca(directory: Path, name: str = "ca") -> Path:
    """A self-signed CA certificate (``<name>.pem``, its key beside it); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    _run(
        _tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", _DAYS,
        "-subj", f"/CN=custodywatch local test CA ({name})",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    return cert


def make_broker_tls(directory: Path) -> BrokerTls:
    """A CA, and a broker certificate it signed for 127.0.0.1, in a PKCS12 keystore."""
    openssl = _tool("openssl")
    keytool = _tool("keytool")
    ca = make_ca(directory)
    ca_key = directory / "ca-key.pem"
    key, csr, cert = (directory / f"broker{ext}" for ext in ("-key.pem", ".csr", ".pem"))
    _run(
        openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    extensions = directory / "broker.ext"
    extensions.write_text(_SUBJECT_ALT_NAMES + "\n", encoding="utf-8")
    _run(
        openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", _DAYS, "-extfile", str(extensions), "-out", str(cert),
    )  # fmt: skip
    password = secrets.token_urlsafe(18)
    bundle = directory / "broker-openssl.p12"
    _run(
        openssl, "pkcs12", "-export", "-name", "broker", "-inkey", str(key),
        "-in", str(cert), "-certfile", str(ca), "-passout", f"pass:{password}",
        "-out", str(bundle),
    )  # fmt: skip
    # keytool rewrites it as the JVM's own PKCS12, whatever ciphers this openssl defaults to.
    keystore = directory / "broker.p12"
    _run(
        keytool, "-importkeystore", "-noprompt",
        "-srckeystore", str(bundle), "-srcstoretype", "PKCS12", "-srcstorepass", password,
        "-destkeystore", str(keystore), "-deststoretype", "PKCS12", "-deststorepass", password,
    )  # fmt: skip
    return BrokerTls(cafile=ca, keystore=keystore, keystore_password=password)
