"""Deterministic custody traffic, calibrated to a large force's published figures.

Pure (no Kafka, no wall clock): `iter_lines(SimConfig(seed=...))` yields JSONL
lines in occurred_at order; `iter_records` yields (occurred_at in microseconds,
Kafka key, Kafka value) for a paced producer; `output.write_jsonl` writes a file;
`calibration` measures events against the published figures.
"""

from custodywatch.sim.config import SimConfig
from custodywatch.sim.generator import batches, iter_lines
from custodywatch.sim.mistakes import Mistake
from custodywatch.sim.records import iter_records, iter_tagged

__all__ = ["Mistake", "SimConfig", "batches", "iter_lines", "iter_records", "iter_tagged"]
