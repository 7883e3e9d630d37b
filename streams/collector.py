"""The metrics collector: bot-metrics and ea-metrics into SQLite and Prometheus gauges.

It also counts retrain-requests and drift firings. It reads in its own consumer group
(``<prefix>collector``), stores each batch, then commits the batch's offsets; after a crash
the uncommitted tail is read again and dropped by event id. A record that cannot be decoded
is counted (``botcopier_collector_errors_total{reason}``), logged and skipped.

The record handling (`ingest`, `flush`) needs no broker:

Examples
--------
>>> from botcopier.config import load_settings
>>> from botcopier.samples import sample_records
>>> from botcopier.streams.collector_metrics import CollectorMetrics
>>> from botcopier.streams.metrics_store import MetricsStore
>>> settings = load_settings(environ={})
>>> collector = MetricsCollector(settings, MetricsStore(":memory:"), CollectorMetrics())
>>> topic = settings.topic("bot-metrics")
>>> value = collector.codec.encode("BotMetrics", sample_records()["BotMetrics"], topic=topic)
>>> collector.ingest(topic, value)
>>> collector.ingest(topic, b"not avro")
>>> collector.flush()
1
>>> collector.metrics.registry.get_sample_value(
...     "botcopier_collector_errors_total", {"reason": "decode"})
1.0
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from botcopier import telemetry
from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.clients import consumer_config
from botcopier.streams.collector_metrics import CollectorMetrics, Source
from botcopier.streams.dedup import EventDeduplicator
from botcopier.streams.metrics_store import MetricsStore
from botcopier.trace_context import links_to

log = logging.getLogger("botcopier.collector")

# Catalogue topic → the record it carries.
SCHEMAS = {
    "bot-metrics": "BotMetrics",
    "ea-metrics": "MetricSnapshot",
    "retrain-requests": "RetrainRequest",
    "drift": "DriftEvent",
}
# Topics whose records are stored, and as which source their gauges show.
_STORED: dict[str, tuple[str, Source]] = {
    "bot-metrics": ("bot_metrics", "agents"),
    "ea-metrics": ("ea_metrics", "ea"),
}
BATCH_SIZE = 500


def error_reason(exc: Exception) -> str:
    """A label value for an error: its class name in snake case, without ``Error``.

    >>> from botcopier.schemas.exceptions import UnknownFingerprintError
    >>> error_reason(UnknownFingerprintError("00"))
    'unknown_fingerprint'
    """
    name = type(exc).__name__.removesuffix("Error") or "error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class MetricsCollector:
    """Turns consumed records into stored rows, gauges and counters."""

    def __init__(
        self,
        settings: Settings,
        store: MetricsStore,
        metrics: CollectorMetrics,
        codec: ValueCodec | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.codec = codec or ValueCodec.from_settings(settings)
        self.tracer = telemetry.tracer("collector")
        self.group_id = f"{settings.kafka.topic_prefix}collector"
        self.topics = {settings.topic(name): name for name in SCHEMAS}
        # Known label values start at 0, so rate() sees the first record of a topic.
        for name in SCHEMAS:
            metrics.events.labels(name)
            metrics.duplicates.labels(name)
        self.consumed = 0
        self.assigned_partitions = 0
        self._pending: dict[str, list[dict[str, Any]]] = {name: [] for name in _STORED}
        # Retrain requests and drift firings are only counted, so their replays are caught
        # here rather than by a UNIQUE constraint.
        self._seen = EventDeduplicator(capacity=100_000)
        # (topic, partition) → next offset to read, for batches that are stored / committed.
        self._stored: dict[tuple[str, int], int] = {}
        self._committed: dict[tuple[str, int], int] = {}

    def reload_gauges(self) -> int:
        """Show every bot's latest stored figures, as before a restart; returns rows shown."""
        shown = 0
        for name, (table, source) in _STORED.items():
            for row in self.store.latest_per_bot(table):
                shown += self.metrics.set_bot(source, row)
        return shown

    def ingest(self, topic: str, value: bytes | None, where: str = "") -> None:
        """Decode one record of ``topic`` (a full topic name) and count or buffer it."""
        name = self.topics.get(topic)
        if name is None:
            self._error("unknown_topic", f"record from unexpected topic {topic}", where)
            return
        if not value:
            self._error("empty_value", f"{name}: empty value", where)
            return
        try:
            record = self.codec.decode(value, topic=topic, schema_name=SCHEMAS[name]).record
        except DecodeError as exc:
            self._error(error_reason(exc), f"{name}: {exc}", where)
            return
        self.consumed += 1
        self.metrics.events.labels(name).inc()
        if name in _STORED:
            self._pending[name].append(record)
        elif self._seen.is_new(f"{record.get('account')}:{record['event_id']}"):
            if name == "retrain-requests":
                self.metrics.retrains.labels(record["reason"]).inc()
            else:
                self.metrics.drifts.labels(record["detector"]).inc()
        else:
            self.metrics.duplicates.labels(name).inc()

    def flush(self) -> int:
        """Store the buffered records and update the gauges; returns how many were new."""
        added = 0
        for name, records in self._pending.items():
            if not records:
                continue
            table, source = _STORED[name]
            new = self.store.add_many(table, records)
            if new < len(records):
                self.metrics.duplicates.labels(name).inc(len(records) - new)
            for record in records:
                self.metrics.set_bot(source, record)
            added += new
            records.clear()
        return added

    def handle_many(self, messages: list[Message]) -> int:
        """Ingest a consumed batch and store it; returns how many rows were new.

        Only once the batch is stored do its offsets become eligible for commit. The batch
        is one ``collector.store`` span, linked to the span of each record's producer.
        """
        links = (
            links_to((m.headers(), {}) for m in messages if m.error() is None)
            if telemetry.exporting()
            else ()
        )
        span = telemetry.start_span(self.tracer, "collector.store", kind=SpanKind.CONSUMER,
                                    links=links)  # fmt: skip
        with trace.use_span(span, end_on_exit=True):
            span.set_attribute("botcopier.messages", len(messages))
            return self._handle_many(messages)

    def _handle_many(self, messages: list[Message]) -> int:
        for msg in messages:
            where = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - public constant
                    self._error("consumer", str(error), where)
                continue
            self.ingest(msg.topic(), msg.value(), where)
        added = self.flush()
        for msg in messages:
            if msg.error() is None:
                self._stored[(msg.topic(), msg.partition())] = msg.offset() + 1
        return added

    def run(self, stop: threading.Event, poll_timeout_s: float = 0.5) -> None:
        """Consume until ``stop`` is set, then commit what was stored and leave the group.

        An exception (the store failing) propagates; the batch that was not stored is not
        committed, so the group reads it again.
        """
        consumer = Consumer(consumer_config(self.settings, group_id=self.group_id))
        consumer.subscribe(list(self.topics), on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("collecting", extra={"topics": sorted(self.topics), "group": self.group_id})
        try:
            while not stop.is_set():
                batch = consumer.consume(num_messages=BATCH_SIZE, timeout=poll_timeout_s)
                if batch:
                    self.handle_many(batch)
                    self._commit(consumer, asynchronous=True)
        finally:
            self._commit(consumer, asynchronous=False)
            consumer.close()
            log.info("consumer closed", extra={"consumed": self.consumed})

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned_partitions = len(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Whatever was stored is committed before another member takes the partitions over.
        self._commit(consumer, asynchronous=False)
        for tp in partitions:
            self._stored.pop((tp.topic, tp.partition), None)
            self._committed.pop((tp.topic, tp.partition), None)
        self.assigned_partitions = 0

    def _commit(self, consumer: Consumer, asynchronous: bool) -> None:
        # Explicit offsets of stored batches, never the consumer's position: a batch the
        # store refused must be read again, not skipped.
        pending = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in self._stored.items()
            if self._committed.get((topic, partition)) != offset
        ]
        if not pending:
            return
        try:
            consumer.commit(offsets=pending, asynchronous=asynchronous)
        except KafkaException as exc:
            log.warning("offset commit failed: %s", exc)
            return
        # An asynchronous commit may still fail, so only a synchronous one is remembered:
        # the final commit at shutdown then repeats whatever might not have landed.
        if not asynchronous:
            self._committed.update({(tp.topic, tp.partition): tp.offset for tp in pending})

    def _error(self, reason: str, message: str, where: str) -> None:
        self.metrics.errors.labels(reason).inc()
        log.warning("skipped record: %s", message, extra={"reason": reason, "at": where})
