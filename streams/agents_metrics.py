"""The agents worker's own Prometheus series, in a registry of its own.

Served by the worker on ``/metrics`` (next to ``/healthz``) at its ``--web-port``. The
processing latency is measured from the Kafka timestamp of a close (when the bridge wrote
it) to the moment its BotMetrics record is handed to the producer: event times are market
times and say nothing about how fast the worker is.

Examples
--------
>>> metrics = AgentsMetrics()
>>> metrics.events.labels(topic="trade-events").inc()
>>> metrics.registry.get_sample_value("botcopier_agents_events_total", {"topic": "trade-events"})
1.0
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class AgentsMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.events = Counter(
            "botcopier_agents_events", "Records read, by source topic", ["topic"], registry=r
        )
        self.undecodable = Counter(
            "botcopier_agents_undecodable", "Records skipped as undecodable", ["topic"], registry=r
        )
        self.closes = Counter("botcopier_agents_closes", "Closes counted", registry=r)
        self.duplicates = Counter(
            "botcopier_agents_duplicate_closes", "Closes seen before, not counted", registry=r
        )
        self.published = Counter(
            "botcopier_agents_published", "Records published, by topic", ["topic"], registry=r
        )
        self.drift = Counter(
            "botcopier_agents_drift", "Drift detections, by detector", ["detector"], registry=r
        )
        self.retrains = Counter(
            "botcopier_agents_retrain_requests",
            "Retrain requests, by reason",
            ["reason"],
            registry=r,
        )
        self.bots = Gauge(
            "botcopier_agents_bots", "Bots with live state in this worker", registry=r
        )
        self.latency = Histogram(
            "botcopier_agents_close_to_metric_seconds",
            "From a close's Kafka timestamp to its BotMetrics being sent",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
