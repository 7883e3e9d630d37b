"""What the agents do with one observed bot's trade events, as plain, testable logic.

`BotWatch.on_event` takes a decoded TradeEvent and returns what to publish: the bot's
rolling metrics (on every close), drift detections and a retrain request. Its whole state
is plain data (`to_state`), so a Faust table can hold it and a restarted worker resumes
from the table's changelog. Events are deduplicated by ``event_id`` first: a replayed event
changes nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from botcopier.streams.drift import BotDriftDetectors, Detection, DriftConfig
from botcopier.streams.retrain_policy import RetrainPolicy, RetrainThresholds
from botcopier.streams.rolling import RollingTradeMetrics

# Resends arrive within the bridge's in-flight window of the original; this many recent ids
# per bot covers it many times over.
DEDUP_WINDOW = 20_000


@dataclass(frozen=True)
class WatchConfig:
    window_days: int = 30
    retention_days: int = 90
    thresholds: RetrainThresholds = field(default_factory=RetrainThresholds)
    drift: DriftConfig = field(default_factory=DriftConfig)


@dataclass
class WatchOutput:
    metrics: dict[str, Any]
    last_event_id: str
    drifts: list[Detection]
    retrain_reason: str | None


class BotWatch:
    def __init__(self, config: WatchConfig, state: dict[str, Any] | None = None) -> None:
        self.config = config
        state = state or {}
        if "metrics" in state:
            self.metrics = RollingTradeMetrics.from_state(state["metrics"])
        else:
            self.metrics = RollingTradeMetrics(config.window_days, config.retention_days)
        self.policy = RetrainPolicy(config.thresholds)
        self.policy.load_state(state.get("policy", {}))
        self.seen: deque[str] = deque(state.get("seen", []))
        self._seen_set = set(self.seen)
        self.closes = int(state.get("closes", 0))
        # River detectors hold no plain-data state: rebuilt by replaying the kept results,
        # with what they would have detected on the way already acted upon.
        self.detectors = BotDriftDetectors(config.drift)
        for result in state.get("metrics", {}).get("trades", []):
            self.detectors.update(result[1])

    def on_event(self, event: dict[str, Any]) -> WatchOutput | None:
        """Outputs for one TradeEvent, or None (a duplicate, or not a close)."""
        event_id = event["event_id"]
        if event_id in self._seen_set:
            return None
        self._remember(event_id)
        if event["action"] != "CLOSE":
            return None
        result = event["profit"] + event["swap"] + event["commission"]
        close_ms = event["close_time_ms"] or event["event_time_ms"]
        self.metrics.update(close_ms, result)
        self.closes += 1
        metrics = self.metrics.get()
        drifts = self.detectors.update(result)
        bot = f"{event['account']}:{event['magic']}"
        reason = self.policy.observe(bot, metrics, close_ms)
        if reason is None and drifts:
            reason = self.policy.on_drift(bot, close_ms)
        return WatchOutput(metrics, event_id, drifts, reason)

    def _remember(self, event_id: str) -> None:
        self.seen.append(event_id)
        self._seen_set.add(event_id)
        if len(self.seen) > DEDUP_WINDOW:
            self._seen_set.discard(self.seen.popleft())

    def to_state(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics.to_state(),
            "policy": self.policy.to_state(),
            "seen": list(self.seen),
            "closes": self.closes,
        }
