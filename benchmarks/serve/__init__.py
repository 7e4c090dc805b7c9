"""The serve benchmark's parts (`benchmarks/bench_serve.py` runs them): `traffic`."""
