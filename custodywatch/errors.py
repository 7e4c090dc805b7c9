"""Known failures as one line for a person, with what to do next, and an exit code.

`explain(exc, settings)` is used by the command line's single top-level handler
(`custodywatch.cli.main`): a person never sees a traceback for a bad setting, an
unreachable or refusing broker, a port in use or Ctrl-C. Anything else is a bug
and keeps its traceback.

Exit codes: 2 a bad argument or setting (fix the command or the environment),
1 a service that could not be reached or used, 130 interrupted.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from custodywatch.localkafka.broker import KafkaStartError
from custodywatch.localkafka.connection import ENV_BOOTSTRAP, KafkaSettingsError
from custodywatch.localkafka.fetch import KafkaToolMissingError

_T = TypeVar("_T")

USAGE = 2
UNAVAILABLE = 1
INTERRUPTED = 130

# Settings fields whose environment variable is not CUSTODYWATCH_<FIELD>.
_ENV_OF_FIELD = {"rules_path": "CUSTODYWATCH_RULES", "kafka": ENV_BOOTSTRAP}
# Values never echoed back: they may carry credentials.
_SECRET_FIELDS = frozenset({"database_url", "kafka"})


@dataclass(frozen=True)
class Failure:
    message: str
    code: int


class SettingsError(Exception):
    """The environment's CUSTODYWATCH_* settings do not validate; one line per problem."""


def env_name(loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a Settings validation error location."""
    if len(loc) >= 2 and loc[0] == "topics":
        return f"CUSTODYWATCH_TOPIC_{str(loc[1]).upper()}"
    field = str(loc[0]) if loc else "settings"
    return _ENV_OF_FIELD.get(field, f"CUSTODYWATCH_{field.upper()}")


def _problem(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "int_parsing":
        text = "not a valid integer"
    elif kind == "enum":
        text = f"must be one of {ctx.get('expected')}"
    elif kind in {"greater_than_equal", "greater_than"}:
        text = f"must be {'at least' if kind.endswith('equal') else 'more than'} {ctx.get('ge', ctx.get('gt'))}"
    elif kind in {"less_than_equal", "less_than"}:
        text = f"must be {'at most' if kind.endswith('equal') else 'less than'} {ctx.get('le', ctx.get('lt'))}"
    else:
        text = error["msg"][:1].lower() + error["msg"][1:]
    field = str(error["loc"][0]) if error["loc"] else ""
    if field in _SECRET_FIELDS or not isinstance(error.get("input"), str | int):
        return text
    return f"{text} (got {error['input']!r})"


def settings_message(exc: ValidationError) -> str:
    """E.g. `CUSTODYWATCH_METRICS_PORT: not a valid integer (got 'abc')`."""
    return "; ".join(
        f"{env_name(error['loc'])}: {_problem(error)}" for error in exc.errors(include_url=False)
    )


def explain(
    exc: BaseException, bootstrap: str | None = None, connect_error: str | None = None
) -> Failure | None:
    """One line and an exit code for a known failure; None for a bug.

    `connect_error`: aiokafka's reason for the last failed bootstrap connection
    (`custodywatch.logs.last_connect_error()`), which its exception leaves out.
    """
    from aiokafka.errors import KafkaConnectionError, KafkaError

    where = f"Kafka at {bootstrap}" if bootstrap else "Kafka"
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", INTERRUPTED)
    if isinstance(exc, SettingsError | KafkaSettingsError):
        return Failure(str(exc), USAGE)
    if isinstance(exc, ValidationError):
        return Failure(settings_message(exc), USAGE)
    if isinstance(exc, KafkaStartError | KafkaToolMissingError):
        return Failure(f"the local Kafka broker did not start: {exc}", UNAVAILABLE)
    if isinstance(exc, KafkaConnectionError):
        reason = f" ({connect_error})" if connect_error else ""
        refused = _security_refusal(where, connect_error or "")
        if refused is not None:
            return Failure(f"{refused[0]}{reason}: {refused[1]}", UNAVAILABLE)
        return Failure(
            f"cannot connect to {where}{reason}: is the broker running, and are "
            f"{ENV_BOOTSTRAP} and the CUSTODYWATCH_KAFKA_* security settings right?",
            UNAVAILABLE,
        )
    if isinstance(exc, ssl.SSLError):
        return Failure(
            f"TLS with {where} failed ({exc.reason or exc}): check CUSTODYWATCH_KAFKA_SSL_CAFILE",
            UNAVAILABLE,
        )
    if isinstance(exc, KafkaError):
        # e.g. a refused SASL login: aiokafka's text names the mechanism, never the password.
        return Failure(
            f"{where} refused: {type(exc).__name__}: {exc}; check the "
            "CUSTODYWATCH_KAFKA_* security settings",
            UNAVAILABLE,
        )
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return Failure(
            "the metrics port is in use: choose another with CUSTODYWATCH_METRICS_PORT "
            "(or --metrics-port), or 0 for any free port",
            UNAVAILABLE,
        )
    return None


def _security_refusal(where: str, reason: str) -> tuple[str, str] | None:
    """What failed and which settings to check, when the bootstrap connection failed
    on the SASL login or on the broker's certificate."""
    if "SaslAuthenticationFailed" in reason:
        return (
            f"{where} refused the login",
            "check CUSTODYWATCH_KAFKA_SASL_USERNAME, _SASL_PASSWORD and _SASL_MECHANISM "
            "(the mechanism must be one the listener enables)",
        )
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        return (
            f"the certificate of {where} is not trusted",
            "check that CUSTODYWATCH_KAFKA_SSL_CAFILE is the CA that signed it "
            "(unset, the system's trusted CAs are used)",
        )
    return None


def run_async(main: Coroutine[Any, Any, _T]) -> _T:
    """`asyncio.run` for every command: clients close themselves when their start fails
    (`stream.clients.start_or_close`), so nothing is left for asyncio to report."""
    return asyncio.run(main)
