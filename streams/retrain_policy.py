"""When to ask for a retrain: thresholds with hysteresis, and a cooldown per bot.

A reason fires when its metric crosses its trigger level while *armed*; it then disarms
until the metric recovers past a second, safer level. Any firing starts a cooldown for
that bot, during which nothing fires. So a metric flapping around its threshold asks once,
not on every trade. Times are event times (ms), so a replay decides the same way.

Examples
--------
>>> policy = RetrainPolicy(RetrainThresholds(min_trades=3, cooldown_ms=1000))
>>> [policy.observe("1:7", {"trade_count": 5, "win_rate": w, "max_drawdown": 0.0}, t)
...  for t, w in [(0, 0.6), (10, 0.3), (20, 0.6), (30, 0.3)]]
[None, 'win_rate', None, None]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RetrainThresholds:
    min_win_rate: float = 0.40
    win_rate_rearm: float = 0.45  # must recover above this before win_rate can fire again
    max_drawdown: float = 500.0
    drawdown_rearm: float = 400.0
    min_trades: int = 20  # judge nothing on fewer trades
    cooldown_ms: int = 6 * 3_600_000

    def __post_init__(self) -> None:
        if self.win_rate_rearm < self.min_win_rate:
            raise ValueError("win_rate_rearm must be >= min_win_rate")
        if self.drawdown_rearm > self.max_drawdown:
            raise ValueError("drawdown_rearm must be <= max_drawdown")


@dataclass
class _BotState:
    win_rate_armed: bool = True
    drawdown_armed: bool = True
    last_fired_ms: int | None = None


@dataclass
class RetrainPolicy:
    thresholds: RetrainThresholds = field(default_factory=RetrainThresholds)
    _bots: dict[str, _BotState] = field(default_factory=dict)

    def observe(self, bot: str, metrics: dict[str, Any], now_ms: int) -> str | None:
        """The reason to retrain ``bot`` now, or None."""
        t, state = self.thresholds, self._bots.setdefault(bot, _BotState())
        if metrics["trade_count"] < t.min_trades:
            return None
        win_rate, drawdown = metrics["win_rate"], metrics["max_drawdown"]
        reason = None
        if state.win_rate_armed and win_rate < t.min_win_rate:
            state.win_rate_armed, reason = False, "win_rate"
        elif not state.win_rate_armed and win_rate >= t.win_rate_rearm:
            state.win_rate_armed = True
        if state.drawdown_armed and drawdown > t.max_drawdown:
            state.drawdown_armed, reason = False, reason or "drawdown"
        elif not state.drawdown_armed and drawdown <= t.drawdown_rearm:
            state.drawdown_armed = True
        return self._fire(state, reason, now_ms)

    def on_drift(self, bot: str, now_ms: int) -> str | None:
        """A drift detector fired for ``bot``: retrain unless cooling down."""
        return self._fire(self._bots.setdefault(bot, _BotState()), "drift", now_ms)

    def _fire(self, state: _BotState, reason: str | None, now_ms: int) -> str | None:
        if reason is None:
            return None
        cooling = state.last_fired_ms is not None and (
            now_ms - state.last_fired_ms < self.thresholds.cooldown_ms
        )
        if cooling:
            return None
        state.last_fired_ms = now_ms
        return reason

    def to_state(self) -> dict[str, Any]:
        return {bot: asdict(state) for bot, state in self._bots.items()}

    def load_state(self, state: dict[str, Any]) -> None:
        self._bots = {bot: _BotState(**values) for bot, values in state.items()}
