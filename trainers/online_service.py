"""`botcopier online`: the River learner on one bot's live stream, publishing snapshots.

One consumer reads every partition of ``trade-events`` and ``market-data`` (assigned, not
in a group: the clone lives in memory only, so a restart learns again from where it starts
reading: ``--from-beginning`` replays the history, the default starts at the end and learns
once the features have warmed up). `BotFeed` keeps the bot's events and its chart's bars,
`EventTimeMerge` puts them in event-time order (the rule is in
`botcopier.trainers.online_stream`) and the `OnlineClone` predicts, then learns, each bar.

Every ``snapshot_every`` bars learned, and once more on stopping if it learned since, the
clone's snapshot goes to the compacted ``models`` topic as a ModelPublished keyed by the
model name, with its prequential scores in ``metrics``. The default name,
``clone-<account>-<magic>-online``, keeps the snapshots apart from the promoted batch clone
of the same bot; give ``--name`` to ship the online clone as the bot's clone instead.

``/healthz`` and Prometheus ``/metrics`` are served on ``metrics_port`` (0: none); SIGTERM
or SIGINT stops it after the batch in hand.

Examples
--------
>>> options = OnlineOptions(account=900001, magic=1001)
>>> options.model_name, options.snapshot_every
('clone-900001-1001-online', 100)
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, TopicPartition
from opentelemetry import trace
from opentelemetry.context import Context
from prometheus_client import CollectorRegistry, Counter, Gauge

from botcopier import telemetry
from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.names import clone_model_name
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.service_http import ServiceEndpoints
from botcopier.streams.clients import consumer_config
from botcopier.trainers.online import Step
from botcopier.trainers.online_stream import BotFeed, EventTimeMerge, bar_time_ms
from botcopier.trainers.publishing import RecordPublisher, model_published_record

log = logging.getLogger("botcopier.online")
Say = Callable[[str], None]
_EOF = KafkaError._PARTITION_EOF  # noqa: SLF001 - librdkafka's public constant
DEFAULT_METRICS_PORT = 9109


class OnlineError(BotCopierError):
    """The online learner cannot start."""


@dataclass(frozen=True)
class OnlineOptions:
    account: int
    magic: int
    symbol: str | None = None
    timeframe_minutes: int | None = None
    name: str | None = None
    snapshot_every: int = 100  # bars learned between snapshots
    from_beginning: bool = False
    max_bars: int | None = None  # stop after learning this many bars (tests, replays)
    metrics_port: int = DEFAULT_METRICS_PORT
    progress_every: int = 500  # bars learned between progress lines (and at each snapshot)

    @property
    def model_name(self) -> str:
        return self.name or f"{clone_model_name(self.account, self.magic)}-online"


class OnlineMetrics:
    def __init__(self, model: str) -> None:
        self.registry = CollectorRegistry()

        def counter(name: str, doc: str) -> Any:
            return Counter(name, doc, ["model"], registry=self.registry).labels(model=model)

        def gauge(name: str, doc: str) -> Any:
            return Gauge(name, doc, ["model"], registry=self.registry).labels(model=model)

        self.bars = counter("botcopier_online_bars", "Bars learned (predicted, then learned)")
        self.events = counter("botcopier_online_events", "The bot's trade events taken")
        self.snapshots = counter("botcopier_online_snapshots", "Snapshots published to models")
        self.undecodable = counter("botcopier_online_undecodable", "Records skipped: undecodable")
        self.accuracy = gauge("botcopier_online_rolling_accuracy", "Prequential accuracy, window")
        self.macro_f1 = gauge("botcopier_online_rolling_macro_f1", "Prequential macro-F1, window")
        self.entry_f1 = gauge(
            "botcopier_online_rolling_entry_macro_f1", "Prequential buy/sell macro-F1, window"
        )
        self.late = gauge("botcopier_online_late_events", "Events that came after their bar")


class OnlineService:
    def __init__(self, settings: Settings, options: OnlineOptions, say: Say = log.info) -> None:
        self.settings, self.options, self.say = settings, options, say
        self.feed = BotFeed(
            options.account,
            options.magic,
            symbol=options.symbol,
            timeframe_minutes=options.timeframe_minutes,
        )
        self.merge = EventTimeMerge()
        self.metrics = OnlineMetrics(options.model_name)
        self.codec = ValueCodec.from_settings(settings)
        self.tracer = telemetry.tracer("online")
        self.topics = {
            settings.topic("trade-events"): "events",
            settings.topic("market-data"): "bars",
        }
        self._not_at_end: dict[str, set[int]] = {source: set() for source in self.topics.values()}
        self.publisher: RecordPublisher | None = None
        self.learned = 0
        self.learned_at_snapshot = 0
        self.last_version: str | None = None

    def health(self) -> dict[str, Any]:
        clone = self.feed.clone
        return {
            "status": "ok",
            "model": self.options.model_name,
            "bars_learned": self.learned,
            "bars_seen": clone.bars_seen if clone else 0,
            "events_seen": clone.events_seen if clone else 0,
            "watermark_ms": clone.watermark_ms if clone else None,
            "waiting_records": self.merge.waiting(),
            "last_snapshot": self.last_version,
            "kafka": self.settings.bootstrap_servers(),
        }

    def progress_line(self) -> str:
        clone = self.feed.clone
        if clone is None:
            return f"online {self.options.model_name}: waiting for the bot's chart"
        s = clone.scores.summary()
        return (
            f"online {self.options.model_name}: {clone.bars_seen} bars seen, {self.learned} "
            f"learned, rolling accuracy {s['rolling_accuracy']:.3f}, rolling entry macro-F1 "
            f"{s['rolling_entry_macro_f1']:.3f} (overall {s['accuracy']:.3f} / "
            f"{s['entry_macro_f1']:.3f})"
        )

    def _assign(self, consumer: Consumer) -> None:
        start = OFFSET_BEGINNING if self.options.from_beginning else OFFSET_END
        assignment = []
        for topic, source in self.topics.items():
            metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if metadata is None or metadata.error is not None:
                raise OnlineError(f"topic {topic} does not exist (run `botcopier topics create`)")
            self._not_at_end[source] = set(metadata.partitions)
            assignment += [TopicPartition(topic, p, start) for p in metadata.partitions]
        consumer.assign(assignment)

    def _receive(self, message: Any) -> None:
        source = self.topics[message.topic()]
        error = message.error()
        if error is not None:
            if error.code() == _EOF:
                self._not_at_end[source].discard(message.partition())
                self.merge.set_at_end(source, not self._not_at_end[source])
            else:
                self.say(f"consumer error: {error}")
            return
        self._not_at_end[source].add(message.partition())
        self.merge.set_at_end(source, False)
        try:
            record = self.codec.decode(message.value(), topic=message.topic()).record
        except DecodeError:
            self.metrics.undecodable.inc()
            return
        if source == "events" and self.feed.wants_event(message.key(), record):
            self.merge.push("events", int(record["event_time_ms"]), record)
        elif source == "bars" and self.feed.wants_bar(record):
            self.merge.push("bars", bar_time_ms(record), record)

    def _learned(self, steps: list[Step]) -> None:
        for _ in steps:
            self.learned += 1
            self.metrics.bars.inc()
            if self.learned % self.options.progress_every == 0:
                self.say(self.progress_line())
            if self.learned % self.options.snapshot_every == 0:
                self.publish()

    def publish(self) -> dict[str, Any]:
        """Put the clone's snapshot on ``models``; returns the ModelPublished record."""
        clone = self.feed.clone
        bot = {"account": self.options.account, "magic": self.options.magic}
        record = model_published_record(clone.snapshot(self.options.model_name, bot))
        summary = clone.scores.summary()
        record["metrics"].update({f"prequential_{k}": float(v) for k, v in summary.items()})
        if self.publisher is None:
            self.publisher = RecordPublisher(self.settings)
        # A snapshot stems from every bar learned so far, not one event: a trace of its own.
        span = telemetry.start_span(self.tracer, "online.publish", Context())
        with trace.use_span(span, end_on_exit=True):
            span.set_attribute("botcopier.model_version", record["model_version"])
            self.publisher.send("models", "ModelPublished", self.options.model_name, record)
        self.publisher.flush()
        self.metrics.snapshots.inc()
        self.learned_at_snapshot, self.last_version = self.learned, record["model_version"]
        self.say(f"{self.progress_line()}; published {record['model_version']}")
        return record

    def _update_gauges(self) -> None:
        clone = self.feed.clone
        if clone is None:
            return
        summary = clone.scores.summary()
        self.metrics.accuracy.set(summary["rolling_accuracy"])
        self.metrics.macro_f1.set(summary["rolling_macro_f1"])
        self.metrics.entry_f1.set(summary["rolling_entry_macro_f1"])
        self.metrics.late.set(clone.late_events)

    def run(self, stop: threading.Event) -> int:
        """Learn until ``stop`` is set or ``max_bars`` are learned; 0 when done."""
        group = f"{self.settings.kafka.topic_prefix}online-{uuid.uuid4().hex[:8]}"
        # Partition EOF tells the merge that a topic has nothing earlier to bring.
        consumer = Consumer(consumer_config(self.settings, group, **{"enable.partition.eof": True}))
        limit = self.options.max_bars
        last_line_s = time.monotonic()
        try:
            self._assign(consumer)
            self.say(f"online {self.options.model_name}: reading {', '.join(self.topics)}")
            while not stop.is_set() and (limit is None or self.learned < limit):
                for message in consumer.consume(num_messages=1_000, timeout=0.5):
                    self._receive(message)
                for source, record in self.merge.pop_ready():
                    if source == "events":
                        self.metrics.events.inc()
                    self._learned(self.feed.take(source, record))
                    if stop.is_set() or (limit is not None and self.learned >= limit):
                        break
                self._update_gauges()
                if time.monotonic() - last_line_s > 30:
                    self.say(self.progress_line())
                    last_line_s = time.monotonic()
            if self.learned > self.learned_at_snapshot:
                self.publish()
        finally:
            consumer.close()
            if self.publisher is not None:
                self.publisher.flush()
        self.say(self.progress_line())
        return 0


def run_online(settings: Settings, options: OnlineOptions, say: Say) -> int:
    """`botcopier online`: serve /healthz and /metrics, learn until SIGTERM/SIGINT."""
    service = OnlineService(settings, options, say)
    endpoints = None
    if options.metrics_port:
        endpoints = ServiceEndpoints(service.metrics.registry, service.health).start(
            "127.0.0.1", options.metrics_port
        )
        say(f"online: /healthz and /metrics on 127.0.0.1:{endpoints.port}")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        return service.run(stop)
    finally:
        if endpoints is not None:
            endpoints.stop()
