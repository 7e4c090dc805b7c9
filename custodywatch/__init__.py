"""custodywatch: live welfare alerts for children held in police custody."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType


def core_build() -> str:
    """How the pure core runs here: 'compiled' (mypyc, `make core`) or 'interpreted'."""
    from custodywatch.core import engine

    return (
        "interpreted" if engine.__file__ is None or engine.__file__.endswith(".py") else "compiled"
    )


def stale_compiled_modules(package: Path) -> list[str]:
    """Sources in `package` edited after their mypyc-compiled module was built."""
    stale = []
    for compiled in package.glob("*.so"):
        source = compiled.with_name(compiled.name.split(".", 1)[0] + ".py")
        if source.exists() and source.stat().st_mtime > compiled.stat().st_mtime:
            stale.append(source.name)
    return sorted(stale)


class StaleCoreError(ImportError):
    """A compiled core module is older than its source."""


def _one_line(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    if isinstance(error, StaleCoreError):
        print(f"custodywatch: {error}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


# Python imports a compiled module in preference to its source, so an edit made
# after `make core` would silently not run. Refuse instead; a command stops with
# the one line (not a traceback), while importers such as pytest see the ImportError.
if _stale := stale_compiled_modules(Path(__file__).with_name("core")):
    sys.excepthook = _one_line
    raise StaleCoreError(
        f"custodywatch/core/{', '.join(_stale)} changed after the core was compiled: "
        "run `make core` to rebuild it, or `make clean-core` to run it interpreted"
    )
