"""Clock-driven EAs: a session-range breakout and a multi-indicator conjunction by weekday.

Examples
--------
>>> from botcopier.bridge.simulator.history import real_bars
>>> bars = real_bars("EURUSD", "H1")
>>> bot = SessionBreakoutBot(bars)
>>> opened = [e for bar in bars for e in bot.on_bar(bar) if e["action"] == "OPEN"]
>>> from datetime import UTC, datetime
>>> days = [datetime.fromtimestamp(e["open_time_ms"] / 1000, UTC).date() for e in opened]
>>> len(days) == len(set(days))  # at most one trade a day
True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from botcopier.bridge.simulator.ledger import PaperAccount
from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo.base import Actions, ZooBot

_FRIDAY = 4


class SessionBreakoutBot(ZooBot):
    """Breaks out of the Asian session's range in the London morning, flat by 20:00 UTC."""

    name, magic = "asian-range-breakout", 2112
    rules = (
        "From 08:00 to 12:00 UTC, Mon-Thu, once a day: Close beyond the 00:00-08:00 UTC "
        "range's high (low): buy (sell); closes at 20:00 UTC; SL 1.5x ATR 14 / TP 40 pips"
    )
    session_end_hour = 8
    intraday_only = True

    def __init__(
        self, bars: Sequence[Bar], *, account: PaperAccount | None = None, digits: int = 5
    ) -> None:
        super().__init__(bars, account=account, digits=digits)
        self._last_trade_day: date | None = None

    def decide(self, bar: Bar) -> Actions:
        now = self.chart.moment()
        if self.side:
            return self.close_all(bar) if now.hour >= 20 else []
        if not 8 <= now.hour <= 12 or now.weekday() >= _FRIDAY:
            return []
        if self._last_trade_day == now.date():
            return []
        high, low = self._asian_range(now)
        close = self.chart.close(1)
        atr = self.chart.atr(14, 1)
        side = +1 if close > high else -1 if close < low else 0
        if not side:
            return []
        self._last_trade_day = now.date()
        return self.enter(bar, side, sl=1.5 * atr, tp=self.pips(40))

    def _asian_range(self, now: datetime) -> tuple[float, float]:
        """High and low of today's bars that opened before 08:00 UTC (NaN when there are none)."""
        midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
        start_ms = int(midnight.timestamp() * 1000)
        end_ms = int((midnight + timedelta(hours=self.session_end_hour)).timestamp() * 1000)
        highs, lows = [], []
        shift = 1
        while shift <= self.chart.bars_seen and self.chart.time_ms(shift) >= start_ms:
            if self.chart.time_ms(shift) < end_ms:
                highs.append(self.chart.high(shift))
                lows.append(self.chart.low(shift))
            shift += 1
        if not highs:
            return float("nan"), float("nan")
        return max(highs), min(lows)
