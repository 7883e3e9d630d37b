"""Watch what the agents publish while something else runs: the demo's live view.

Reads ``bot-metrics``, ``drift`` and ``retrain-requests`` from their ends at `start` (so an
earlier run's records are not shown) in a thread. Retrain requests and drift are printed as
they arrive; metrics are summarised every few seconds, one line per bot that changed, so a
busy bot does not flood the screen.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.clients import consumer_config

WATCHED = ("bot-metrics", "drift", "retrain-requests")


@dataclass
class AgentsSeen:
    metrics: int = 0
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    drifts: list[dict[str, Any]] = field(default_factory=list)
    retrains: list[dict[str, Any]] = field(default_factory=list)
    last_record_s: float = 0.0


def metrics_line(bot: str, m: dict[str, Any]) -> str:
    return (
        f"{bot:>14}  trades {m['trade_count']:4}  win {m['win_rate']:5.1%}  "
        f"profit {m['total_profit']:9.2f}  drawdown {m['max_drawdown']:8.2f}  "
        f"sharpe {m['sharpe']:6.3f}"
    )


class AgentsView:
    def __init__(
        self, settings: Settings, emit: Callable[[str], None], every_s: float = 3.0
    ) -> None:
        self.settings = settings
        self.emit = emit
        self.every_s = every_s
        self.seen = AgentsSeen()
        self._codec = ValueCodec.from_settings(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer = Consumer(
            consumer_config(settings, f"{settings.kafka.topic_prefix}view-{uuid.uuid4().hex}")
        )

    def start(self) -> None:
        partitions = []
        for name in WATCHED:
            topic = self.settings.topic(name)
            metadata = self._consumer.list_topics(topic, timeout=10).topics[topic]
            partitions += [TopicPartition(topic, p, OFFSET_END) for p in metadata.partitions]
        self._consumer.assign(partitions)
        # Resolve "the end" now, not at the first poll, or records sent meanwhile would be lost.
        for partition in partitions:
            self._consumer.position([partition])
        self._thread = threading.Thread(target=self._run, name="agents-view", daemon=True)
        self._thread.start()

    def wait_quiet(self, quiet_s: float = 3.0, timeout_s: float = 60.0) -> None:
        """Until nothing new has arrived for ``quiet_s`` (the agents have caught up)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.seen.last_record_s and time.monotonic() - self.seen.last_record_s > quiet_s:
                return
            time.sleep(0.2)

    def stop(self) -> AgentsSeen:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self._consumer.close()
        return self.seen

    def _run(self) -> None:
        changed: set[str] = set()
        next_summary = time.monotonic() + self.every_s
        while not self._stop.is_set():
            for message in self._consumer.consume(num_messages=500, timeout=0.2):
                if message.error() is None:
                    bot = self._take(message.topic(), message.value())
                    if bot:
                        changed.add(bot)
            if time.monotonic() >= next_summary:
                next_summary += self.every_s
                for bot in sorted(changed):
                    self.emit(f"  metrics {metrics_line(bot, self.seen.latest[bot])}")
                changed.clear()

    def _take(self, topic: str, value: bytes) -> str | None:
        try:
            decoded = self._codec.decode(value, topic=topic)
        except DecodeError as exc:
            self.emit(f"  ! undecodable record on {topic}: {exc}")
            return None
        record, seen = decoded.record, self.seen
        seen.last_record_s = time.monotonic()
        bot = f"{record.get('account')}:{record.get('magic')}"
        if decoded.schema_name == "BotMetrics":
            seen.metrics += 1
            seen.latest[bot] = record
            return bot
        if decoded.schema_name == "DriftEvent":
            seen.drifts.append(record)
            what = f"feature {record['feature']}" if record["feature"] else "results"
            self.emit(f"  drift   {bot:>14}  {record['detector']} on {what}")
        elif decoded.schema_name == "RetrainRequest":
            seen.retrains.append(record)
            self.emit(
                f"  RETRAIN REQUEST {record['model_name']}: {record['reason']} "
                f"({record['detail']}), data up to {record['last_event_id']}"
            )
        return None
