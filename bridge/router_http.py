"""The model router over HTTP, for MQL4's ``WebRequest`` (``mql4/Include/BotCopier/Router.mqh``).

Endpoints (JSON replies; errors are ``{"error": reason}``):

- ``GET /choose``: ``{"arm": 1, "name": "range", "algorithm": "thompson", "pulls": 12}``,
  the model to trade with next (``pulls``: rewards that arm has had).
- ``POST /reward``: learn one reward. The arm (index or name) and the reward come as a JSON
  object ``{"arm": 1, "reward": -3.5}``, or as form fields ``arm=1&reward=-3.5`` in the body
  (what MQL4 sends most simply) or in the query string. Replies with the arm's updated
  statistics once the state file holds the reward. An unknown arm, a reward that is not a
  finite number, bad JSON or a missing field is ``400`` with the reason, and changes nothing.
- ``GET /state``: every arm's statistics, as in the state file, with its mean reward.
- ``GET /healthz`` and ``GET /metrics`` (Prometheus: ``botcopier_router_pulls_total``,
  ``botcopier_router_choices_total``, ``botcopier_router_mean_reward`` per arm).

Examples
--------
>>> import json, pathlib, tempfile, urllib.request
>>> from botcopier.bridge.router import ModelRouter
>>> state_file = pathlib.Path(tempfile.mkdtemp()) / "router.json"
>>> server = RouterServer(ModelRouter.open(state_file, ["a", "b"], "ucb")).start("127.0.0.1", 0)
>>> base = f"http://127.0.0.1:{server.port}"
>>> json.load(urllib.request.urlopen(base + "/choose"))
{'arm': 0, 'name': 'a', 'algorithm': 'ucb', 'pulls': 0}
>>> json.load(urllib.request.urlopen(base + "/reward", data=b"arm=a&reward=1.5"))["pulls"]
1
>>> server.stop()
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from botcopier.bridge.exceptions import RouterError
from botcopier.bridge.router import ModelRouter
from botcopier.service_http import serve_in_thread, stop_server

MAX_BODY_BYTES = 65536


class _ArmCollector:
    """Reads the arms' statistics at scrape time, so the metrics never lag the state."""

    def __init__(self, router: ModelRouter) -> None:
        self.router = router

    def collect(self) -> Iterator[Metric]:
        pulls = CounterMetricFamily(
            "botcopier_router_pulls", "rewards learned per arm", labels=["arm", "name"]
        )
        choices = CounterMetricFamily(
            "botcopier_router_choices", "times each arm was chosen", labels=["arm", "name"]
        )
        means = GaugeMetricFamily(
            "botcopier_router_mean_reward", "mean reward per arm", labels=["arm", "name"]
        )
        for index, arm in enumerate(self.router.state()["arms"]):
            labels = [str(index), arm["name"]]
            pulls.add_metric(labels, arm["pulls"])
            choices.add_metric(labels, arm["choices"])
            means.add_metric(labels, arm["mean_reward"])
        yield from (pulls, choices, means)


class _BadRequest(Exception):
    pass


def _request_fields(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """``arm`` and ``reward`` from the query string and a JSON or form body."""
    fields: dict[str, Any] = {}
    sources = [parse_qs(query, keep_blank_values=True)]
    text = body.decode("utf-8", errors="strict").strip() if body else ""
    if text and ("json" in content_type or text.startswith("{")):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _BadRequest(f"body is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise _BadRequest("JSON body must be an object with arm and reward")
        fields.update({k: v for k, v in document.items() if k in ("arm", "reward")})
    elif text:
        sources.append(parse_qs(text, keep_blank_values=True))
    for source in sources:
        for key in ("arm", "reward"):
            values = source.get(key, [])
            if len(values) > 1:
                raise _BadRequest(f"{key} given {len(values)} times")
            if values:
                fields[key] = values[0]
    missing = [key for key in ("arm", "reward") if key not in fields]
    if missing:
        raise _BadRequest(f"missing {' and '.join(missing)} (send arm=<index or name>&reward=<x>)")
    return fields


class RouterServer:
    """The router's HTTP service in a daemon thread; `start` returns once it listens."""

    def __init__(self, router: ModelRouter) -> None:
        self.router = router
        self.registry = CollectorRegistry()
        self.registry.register(_ArmCollector(router))
        self.bad_requests = Counter(
            "botcopier_router_bad_requests", "requests answered with 400", registry=self.registry
        )
        self._server: ThreadingHTTPServer | None = None
        self.port: int | None = None

    def start(self, host: str, port: int) -> RouterServer:
        self._server = serve_in_thread(host, port, self._handler())
        self.port = self._server.server_address[1]
        return self

    def stop(self) -> None:
        """Stop serving and save the state (the choice counts since the last reward)."""
        if self._server is not None:
            stop_server(self._server)
            self._server = None
            self.router.save()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                path = urlsplit(self.path).path
                if path == "/choose":
                    self._json(200, service.router.choose())
                elif path == "/state":
                    self._json(200, service.router.state())
                elif path == "/healthz":
                    arms = len(service.router.bandit.arms)
                    algorithm = service.router.bandit.algorithm
                    self._json(200, {"status": "ok", "arms": arms, "algorithm": algorithm})
                elif path == "/metrics":
                    self._send(200, generate_latest(service.registry), CONTENT_TYPE_LATEST)
                elif path == "/reward":
                    self._json(405, {"error": "use POST /reward"})
                else:
                    self._json(404, {"error": f"no {path}: try /choose, /reward, /state"})

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                split = urlsplit(self.path)
                if split.path != "/reward":
                    self._json(404, {"error": f"no POST {split.path}: try POST /reward"})
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    if not 0 <= length <= MAX_BODY_BYTES:
                        raise _BadRequest(f"body must be 0..{MAX_BODY_BYTES} bytes")
                    body = self.rfile.read(length)
                    fields = _request_fields(
                        split.query, body, self.headers.get("Content-Type", "").lower()
                    )
                    self._json(200, service.router.reward(fields["arm"], fields["reward"]))
                except (_BadRequest, RouterError, ValueError) as exc:
                    service.bad_requests.inc()
                    self._json(400, {"error": str(exc)})
                except OSError as exc:
                    self._json(500, {"error": f"reward not saved: {exc}"})

            def _json(self, status: int, document: dict[str, Any]) -> None:
                self._send(status, json.dumps(document).encode(), "application/json")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass  # one line per EA request would drown the service's own log

        return Handler
