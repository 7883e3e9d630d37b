"""The dashboard's Prometheus series, in a registry of its own.

::

    botcopier_dashboard_records_total{topic}       records decoded from Kafka
    botcopier_dashboard_undecodable_total{topic}   records skipped because they did not decode
    botcopier_dashboard_sse_clients                event streams open now
    botcopier_dashboard_unauthorized_total         requests refused with 401
    botcopier_dashboard_resyncs_total              event streams that fell behind and were
                                                   sent a fresh snapshot instead

Examples
--------
>>> metrics = DashboardMetrics()
>>> metrics.unauthorized.inc()
>>> metrics.registry.get_sample_value("botcopier_dashboard_unauthorized_total")
1.0
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class DashboardMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.records = Counter(
            "botcopier_dashboard_records",
            "Records decoded from Kafka",
            ["topic"],
            registry=self.registry,
        )
        self.undecodable = Counter(
            "botcopier_dashboard_undecodable",
            "Records skipped because they did not decode",
            ["topic"],
            registry=self.registry,
        )
        self.sse_clients = Gauge(
            "botcopier_dashboard_sse_clients", "Event streams open now", registry=self.registry
        )
        self.unauthorized = Counter(
            "botcopier_dashboard_unauthorized",
            "Requests refused with 401 (missing or wrong token)",
            registry=self.registry,
        )
        self.resyncs = Counter(
            "botcopier_dashboard_resyncs",
            "Event streams that fell behind and were sent a fresh snapshot instead",
            registry=self.registry,
        )
