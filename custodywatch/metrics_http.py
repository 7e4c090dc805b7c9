"""The `/metrics` HTTP endpoint: a registry served from a daemon thread.

Every process that reports (worker, serve, demo) serves its own registry; port 0
binds any free port, and `MetricsServer.port` says which.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import TracebackType
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server


@dataclass
class MetricsServer:
    """A running `/metrics` endpoint; `shutdown()` (or `close()`) stops it."""

    server: WSGIServer
    thread: threading.Thread
    _closed: bool = field(default=False, init=False)

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        """The bound port: the real one when `serve_metrics` was given port 0."""
        return int(self.server.server_address[1])

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop serving, release the socket and join the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout_s)

    close = shutdown

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> MetricsServer:
    """Serve `registry` at http://host:port/metrics from a daemon thread.

    Port 0 binds an ephemeral port (read it back from `.port`). In a container,
    bind host 0.0.0.0 so that Prometheus can reach it.
    """
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(server, thread)
