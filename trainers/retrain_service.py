"""`botcopier retrainer`: consume RetrainRequests, answer each, publish what wins.

Requests are read in batches in the consumer group ``<prefix>retrainer``; of several
requests for one model in a batch (a burst while a bot keeps failing) only the newest is
trained for, the others are answered SUPERSEDED. For each answered request the live model is the
newest record for the request's model name on the compacted ``models`` topic; the answer
(`answer_request`) is a RetrainDecision on ``retrain-decisions`` and, when the candidate
wins, a ModelPublished on ``models``. The request's offset is committed only after both are
acknowledged, so a crash in between answers the request again rather than losing it (the
decision's id is derived from the request's, so a repeat is recognisable).

Tracing: each answer is a ``retrainer.request`` span, a child of the agents span that asked
(from the request's ``traceparent`` header, else its ``trace_id``/``span_id``), with a
``retrainer.train`` span under it whose context the RetrainDecision and ModelPublished
records carry.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Gauge

from botcopier import telemetry
from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.service_http import ServiceEndpoints
from botcopier.streams.clients import consumer_config
from botcopier.trace_context import context_from
from botcopier.trainers.model_document import ModelFormatError, parse_model
from botcopier.trainers.publishing import RecordPublisher, model_published_record
from botcopier.trainers.retrainer import answer_request
from botcopier.trainers.sources import read_to_end

log = logging.getLogger("botcopier.retrainer")
Say = Callable[[str], None]


class RetrainMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "botcopier_retrainer_requests", "Retrain requests consumed", registry=self.registry
        )
        self.decisions = Counter(
            "botcopier_retrainer_decisions",
            "Answers to retrain requests",
            ["outcome"],
            registry=self.registry,
        )
        self.candidate_score = Gauge(
            "botcopier_retrainer_candidate_score",
            "Held-out score of the latest candidate",
            ["model"],
            registry=self.registry,
        )
        self.seconds = Gauge(
            "botcopier_retrainer_last_answer_seconds",
            "Time the latest answer took",
            registry=self.registry,
        )


def live_model(settings: Settings, name: str, say: Say) -> dict[str, Any] | None:
    """The newest valid model published under ``name``, or None."""
    key = name.encode()
    records, _ends = read_to_end(settings, "models", lambda k, r: k == key)
    for record in reversed(records):
        try:
            return parse_model(record["model_json"], f"models[{name} {record['model_version']}]")
        except ModelFormatError as exc:
            say(f"skipping an unreadable live model: {exc}")
    return None


class RetrainService:
    def __init__(self, settings: Settings, say: Say = log.info) -> None:
        self.settings, self.say = settings, say
        self.metrics = RetrainMetrics()
        self.publisher = RecordPublisher(settings)
        self.codec = ValueCodec.from_settings(settings)
        self.tracer = telemetry.tracer("retrainer")
        self.answered = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)  # newest decisions, for /healthz
        self.busy_since: float | None = None

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "answered": self.answered,
            "last_decision": self.recent[-1]["outcome"] if self.recent else None,
            "training_for_s": None
            if self.busy_since is None
            else time.monotonic() - self.busy_since,
            "kafka": self.settings.bootstrap_servers(),
        }

    def answer(self, request: dict[str, Any], parent: Context | None = None) -> dict[str, Any]:
        """Answer one request and publish the answer; returns the RetrainDecision record.

        ``parent``: the requester's trace context (default: the request's own ids).
        """
        parent = context_from(None, request) if parent is None else parent
        span = telemetry.start_span(self.tracer, "retrainer.request", parent, SpanKind.CONSUMER)
        with trace.use_span(span, end_on_exit=True):
            span.set_attribute("botcopier.request_event_id", request["event_id"])
            return self._answer(request)

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        self.busy_since = time.monotonic()
        name = request["model_name"]
        self.say(f"request {request['event_id']} for {name}: {request['reason']}")
        live = live_model(self.settings, name, self.say)
        span = telemetry.start_span(self.tracer, "retrainer.train")
        with trace.use_span(span, end_on_exit=True):
            outcome = answer_request(self.settings, request, live, self.say)
            result = outcome.decision["outcome"]
            span.set_attribute("botcopier.outcome", result)
            if result == "FAILED":
                span.set_status(Status(StatusCode.ERROR, outcome.decision["reason"]))
            if outcome.model is not None:
                self.publisher.send(
                    "models", "ModelPublished", name, model_published_record(outcome.model)
                )
            self.publisher.send("retrain-decisions", "RetrainDecision", name, outcome.decision)
        self.publisher.flush()
        self.metrics.decisions.labels(outcome=outcome.decision["outcome"].lower()).inc()
        if outcome.decision.get("candidate_score") is not None:
            self.metrics.candidate_score.labels(model=name).set(outcome.decision["candidate_score"])
        self.metrics.seconds.set(time.monotonic() - self.busy_since)
        self.busy_since = None
        self.answered += 1
        self.recent.append(outcome.decision)
        return outcome.decision

    def supersede(
        self, older: dict[str, Any], newer: dict[str, Any], parent: Context | None = None
    ) -> dict[str, Any]:
        decision = {
            "event_id": f"rd-{older['event_id']}",
            "event_time_ms": int(time.time() * 1000),
            "model_name": older["model_name"],
            "request_event_id": older["event_id"],
            "outcome": "SUPERSEDED",
            "reason": f"a newer request for the same model ({newer['event_id']}) is answered "
            "instead: one training covers both",
            "metric": self.settings.retrainer.metric,
            "margin": self.settings.retrainer.margin,
        }
        parent = context_from(None, older) if parent is None else parent
        span = telemetry.start_span(self.tracer, "retrainer.supersede", parent, SpanKind.CONSUMER)
        with trace.use_span(span, end_on_exit=True):
            self.publisher.send(
                "retrain-decisions", "RetrainDecision", older["model_name"], decision
            )
        self.metrics.decisions.labels(outcome="superseded").inc()
        self.answered += 1
        self.recent.append(decision)
        return decision

    def answer_batch(
        self, requests: list[dict[str, Any]], parents: list[Context] | None = None
    ) -> list[dict[str, Any]]:
        """Answer the newest request per model; the older ones in the batch are superseded.

        ``parents``: each request's trace context, as its message's headers gave it.
        """
        contexts = parents or [context_from(None, r) for r in requests]
        newest = {r["model_name"]: (r, c) for r, c in zip(requests, contexts, strict=True)}
        decisions = [
            self.supersede(r, newest[r["model_name"]][0], c)
            for r, c in zip(requests, contexts, strict=True)
            if newest[r["model_name"]][0] is not r
        ]
        return decisions + [self.answer(r, c) for r, c in newest.values()]

    def run(self, stop: threading.Event, max_requests: int | None = None) -> int:
        group = f"{self.settings.kafka.topic_prefix}retrainer"
        consumer = Consumer(consumer_config(self.settings, group_id=group))
        topic = self.settings.topic("retrain-requests")
        consumer.subscribe([topic])
        try:
            while not stop.is_set() and (max_requests is None or self.answered < max_requests):
                room = 500 if max_requests is None else max_requests - self.answered
                batch = consumer.consume(num_messages=room, timeout=0.5)
                requests, parents = [], []
                for message in batch:
                    if message.error():
                        self.say(f"consumer error: {message.error()}")
                        continue
                    self.metrics.requests.inc()
                    try:
                        request = self.codec.decode(message.value(), topic=topic).record
                    except DecodeError as exc:
                        self.say(f"skipping an undecodable request at {message.offset()}: {exc}")
                        continue
                    requests.append(request)
                    parents.append(context_from(message.headers(), request))
                if requests:
                    self.answer_batch(requests, parents)
                if batch:
                    # Only after every answer is acknowledged (answer() flushes).
                    consumer.commit(asynchronous=False)
        finally:
            consumer.close()
        return 0


def run_retrainer(settings: Settings, say: Say, max_requests: int | None = None) -> int:
    service = RetrainService(settings, say)
    endpoints = None
    if settings.retrainer.metrics_port:
        endpoints = ServiceEndpoints(service.metrics.registry, service.health).start(
            "127.0.0.1", settings.retrainer.metrics_port
        )
        say(f"retrainer: /healthz and /metrics on 127.0.0.1:{endpoints.port}")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    say(f"retrainer: waiting for {settings.topic('retrain-requests')}")
    try:
        return service.run(stop, max_requests)
    finally:
        if endpoints is not None:
            endpoints.stop()
