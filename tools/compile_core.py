"""Compile the pure core in place with mypyc (`make core`); the same source runs interpreted without it."""

from __future__ import annotations

from mypyc.build import mypycify
from setuptools import setup

MODULES = [
    f"custodywatch/core/{name}.py"
    for name in (
        "clock",
        "episode",
        "rules",
        "transitions",
        "engine",
        "engine_state",
        "summary",
        "episode_summary",
        "keyhash",
    )
]

setup(
    name="custodywatch-core",
    # One group, named inside the package: its shared library lands in custodywatch/core/.
    ext_modules=mypycify(MODULES, group_name="custodywatch.core.native", target_dir="build/mypyc"),
    script_args=["build_ext", "--inplace", "--build-temp", "build/mypyc/temp"],
)
