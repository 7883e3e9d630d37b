"""What the agents do with one observed bot's trade events, as plain, testable logic.

`BotWatch.on_event` takes a decoded TradeEvent and returns what to publish: the bot's
rolling metrics (on every close), drift detections and a retrain request. Its state is
plain data in two parts, so a Faust table can hold it and a restarted worker resumes from
the table's changelog: a small per-bot record (`to_state`) and the kept trades
(`trades`), which the worker stores one table entry per trade so a close costs one small
write, not a rewrite of the bot's whole history.

Closes are deduplicated by ``event_id`` against the kept trades: a replayed close changes
nothing. (Other events carry no numbers, so a repeat of one has nothing to change.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botcopier.streams.drift import BotDriftDetectors, Detection, DriftConfig
from botcopier.streams.retrain_policy import RetrainPolicy, RetrainThresholds
from botcopier.streams.rolling import RollingTradeMetrics

# A kept trade: (close time ms, net result, event id).
Trade = tuple[int, float, str]


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
    trade: Trade
    forgotten: list[str]  # event ids of trades that left the retention


class BotWatch:
    def __init__(
        self,
        config: WatchConfig,
        state: dict[str, Any] | None = None,
        trades: list[Trade] | tuple[Trade, ...] = (),
    ) -> None:
        self.config = config
        state = state or {}
        self.metrics = RollingTradeMetrics(config.window_days, config.retention_days)
        self.policy = RetrainPolicy(config.thresholds)
        self.policy.load_state(state.get("policy", {}))
        # River detectors hold no plain-data state: rebuilt by replaying the kept results,
        # with what they would have detected on the way already acted upon.
        self.detectors = BotDriftDetectors(config.drift)
        for close_ms, result, event_id in sorted(trades):
            self.metrics.update(int(close_ms), float(result), event_id)
            self.detectors.update(float(result))
        self._kept = {event_id for _t, _r, event_id in self.metrics.trades()}

    def on_event(self, event: dict[str, Any]) -> WatchOutput | None:
        """Outputs for one TradeEvent, or None (not a close, or a close already counted)."""
        event_id = event["event_id"]
        if event["action"] != "CLOSE" or event_id in self._kept:
            return None
        result = event["profit"] + event["swap"] + event["commission"]
        close_ms = event["close_time_ms"] or event["event_time_ms"]
        forgotten = self.metrics.update(close_ms, result, event_id)
        self._kept.add(event_id)
        self._kept.difference_update(forgotten)
        metrics = self.metrics.get()
        drifts = self.detectors.update(result)
        bot = f"{event['account']}:{event['magic']}"
        reason = self.policy.observe(bot, metrics, close_ms)
        if reason is None and drifts:
            reason = self.policy.on_drift(bot, close_ms)
        return WatchOutput(
            metrics, event_id, drifts, reason, (close_ms, result, event_id), forgotten
        )

    def to_state(self) -> dict[str, Any]:
        """The per-bot record, without the trades."""
        return {"policy": self.policy.to_state()}

    def trades(self) -> list[Trade]:
        return self.metrics.trades()
