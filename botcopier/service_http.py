"""``/healthz`` (JSON) and ``/metrics`` (Prometheus) for services whose work loop blocks.

A threaded stdlib HTTP server in a daemon thread: the service's own loop (a Kafka consumer,
a training run) may block for minutes, and health must still answer meanwhile.

Examples
--------
>>> from prometheus_client import CollectorRegistry, Counter
>>> import json, urllib.request
>>> registry = CollectorRegistry()
>>> Counter("demo_things", "things done", registry=registry).inc()
>>> server = ServiceEndpoints(registry, lambda: {"status": "ok"}).start("127.0.0.1", 0)
>>> base = f"http://127.0.0.1:{server.port}"
>>> json.load(urllib.request.urlopen(base + "/healthz"))
{'status': 'ok'}
>>> b"demo_things_total 1.0" in urllib.request.urlopen(base + "/metrics").read()
True
>>> server.stop()
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def serve_in_thread(host: str, port: int, handler: type[BaseHTTPRequestHandler]):
    """A threaded HTTP server on host:port (0: any free port), serving from a daemon thread."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_server(server: ThreadingHTTPServer | None) -> None:
    """Stop serving and close the socket (nothing when ``server`` is None)."""
    if server is not None:
        server.shutdown()
        server.server_close()


class ServiceEndpoints:
    def __init__(self, registry: CollectorRegistry, health: Callable[[], dict[str, Any]]):
        self.registry, self.health = registry, health
        self._server: ThreadingHTTPServer | None = None
        self.port: int | None = None

    def start(self, host: str, port: int) -> ServiceEndpoints:
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path.split("?")[0] == "/healthz":
                    state = endpoints.health()
                    body = json.dumps(state).encode()
                    status, kind = (200 if state.get("status") == "ok" else 503), "application/json"
                elif self.path.split("?")[0] == "/metrics":
                    body, status, kind = (
                        generate_latest(endpoints.registry),
                        200,
                        CONTENT_TYPE_LATEST,
                    )
                else:
                    body, status, kind = b"not found: try /healthz or /metrics\n", 404, "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass  # scrapes every few seconds would drown the service's own log

        self._server = serve_in_thread(host, port, Handler)
        self.port = self._server.server_address[1]
        return self

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None
