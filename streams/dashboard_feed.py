"""The dashboard's Kafka side: recent history, then every new record, decoded, in batches.

Partitions are assigned directly (no consumer group, nothing committed): every dashboard
sees all of each topic, and a restart shows the same recent history again. Each partition
starts ``history`` records before its end, so the page has something to show at once.

The consumer runs in a thread of its own and hands each batch of decoded records, as
``(catalogue topic name, record)`` pairs, to ``deliver``; the dashboard passes them to its
event loop from there.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.admin import watermarks
from botcopier.streams.clients import consumer_config
from botcopier.streams.dashboard_metrics import DashboardMetrics
from botcopier.streams.dashboard_view import FEEDS

log = logging.getLogger("botcopier.dashboard")

Batch = list[tuple[str, dict[str, Any]]]


class DashboardFeedError(BotCopierError):
    """The dashboard cannot follow its topics."""


def start_offset(low: int, high: int, history: int) -> int:
    """Where a partition with watermarks ``low``..``high`` is read from.

    >>> start_offset(0, 1000, 200), start_offset(950, 1000, 200), start_offset(0, 0, 200)
    (800, 950, 0)
    """
    return max(low, high - history)


class DashboardFeed:
    """Follows the dashboard's topics in a background thread; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        deliver: Callable[[Batch], None],
        metrics: DashboardMetrics,
        history: int = 200,
        topics: Sequence[str] = tuple(FEEDS),
    ) -> None:
        self.settings, self.deliver, self.metrics = settings, deliver, metrics
        self.history = history
        self._names = {settings.topic(name): name for name in topics}
        self._codec = ValueCodec.from_settings(settings)
        # A group id is required by librdkafka even though nothing joins or commits.
        group = f"{settings.kafka.topic_prefix}dashboard-{uuid.uuid4().hex[:8]}"
        self._consumer = Consumer(consumer_config(settings, group))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.assigned_partitions = 0
        self.failure: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Assign every partition at its recent-history offset, then follow in a thread."""
        metadata = self._consumer.list_topics(timeout=10).topics
        missing = sorted(topic for topic in self._names if topic not in metadata)
        if missing:
            raise DashboardFeedError(
                f"topics missing on {self.settings.bootstrap_servers()}: {', '.join(missing)} "
                "(run `botcopier topics create`)"
            )
        partitions = []
        for topic in self._names:
            for number in metadata[topic].partitions:
                partition = TopicPartition(topic, number)
                low, high = watermarks(self._consumer, partition, 10)
                partition.offset = start_offset(low, high, self.history)
                partitions.append(partition)
        self._consumer.assign(partitions)
        self.assigned_partitions = len(partitions)
        self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._consumer.close()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self._decode(self._consumer.consume(num_messages=500, timeout=0.25))
                if batch:
                    self.deliver(batch)
        except BaseException as exc:  # health turns red; the service stops rather than lie
            self.failure = exc
            log.exception("dashboard consumer failed")

    def _decode(self, messages: list) -> Batch:
        batch: Batch = []
        for message in messages:
            if message.error() is not None:
                log.warning("consumer error: %s", message.error())
                continue
            name = self._names[message.topic()]
            try:
                decoded = self._codec.decode(message.value(), topic=message.topic())
            except DecodeError as exc:
                self.metrics.undecodable.labels(topic=name).inc()
                log.warning("undecodable record on %s: %s", name, exc)
                continue
            self.metrics.records.labels(topic=name).inc()
            batch.append((name, decoded.record))
        return batch
