"""The stream benchmark's parts (`benchmarks/bench_stream.py` runs them).

- `common`: printing, percentiles, per-run settings, worker processes;
- `kafka`: publishing, offsets, reading topics back, the raw-consume baseline;
- `throughput`: the worker and the peer over the same events, interleaved rounds;
- `peer` and `quix_job`: the same six-hour job in Quix Streams, in its own virtualenv;
- `live`: live alert latency, and SIGKILL with an outage and a backlog;
- `report`: the table.

A benchmark, not part of the service: it may import anything the project has.
`quix_job` is the exception: it runs in the peer's virtualenv and imports only
quixstreams and the standard library.
"""
