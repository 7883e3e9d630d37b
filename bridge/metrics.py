"""The bridge's Prometheus metrics, in a registry of its own per server instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Ack latency is expected in the low milliseconds; the buckets resolve that range finely.
_ACK_BUCKETS_S = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
    5.0,
)


class BridgeMetrics:
    def __init__(self, frame_types: tuple[str, ...] = ()) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("botcopier_bridge_connections", "Open EA connections", registry=r)
        self.connections_total = Counter(
            "botcopier_bridge_connections_accepted", "EA connections accepted", registry=r
        )
        self.frames_in = Counter(
            "botcopier_bridge_frames_in", "Frames received, by type", ["type"], registry=r
        )
        self.events_published = Counter(
            "botcopier_bridge_events_published",
            "Events confirmed by Kafka, by frame type",
            ["type"],
            registry=r,
        )
        self.rejected = Counter(
            "botcopier_bridge_rejected", "Frames rejected, by reason code", ["reason"], registry=r
        )
        self.duplicates = Counter(
            "botcopier_bridge_duplicates", "Resent events dropped as already acked", registry=r
        )
        self.refused = Counter(
            "botcopier_bridge_refused",
            "Connections refused at hello, by code",
            ["code"],
            registry=r,
        )
        self.ack_latency = Histogram(
            "botcopier_bridge_ack_latency_seconds",
            "Frame received to ack sent",
            buckets=_ACK_BUCKETS_S,
            registry=r,
        )
        self.in_flight = Gauge(
            "botcopier_bridge_in_flight", "Frames received and not yet acked", registry=r
        )
        self.producer_queue = Gauge(
            "botcopier_bridge_producer_queue_depth",
            "Messages queued in the Kafka producer, not yet confirmed",
            registry=r,
        )
        # Labelled children resolved once: labels() per event was a measurable cost.
        self.published_by_type = {t: self.events_published.labels(t) for t in frame_types}
        self.frames_in_by_type = {
            t: self.frames_in.labels(t) for t in (*frame_types, "hello", "ping")
        }
