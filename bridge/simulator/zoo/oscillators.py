"""Oscillator EAs: RSI, stochastic, CCI and Williams %R thresholds, level and %K/%D crosses.

Examples
--------
>>> from botcopier.bridge.simulator.history import real_bars
>>> bars = real_bars("EURUSD", "H1")
>>> bot = RsiSessionBot(bars)
>>> opened = [e for bar in bars for e in bot.on_bar(bar) if e["action"] == "OPEN"]
>>> from datetime import UTC, datetime
>>> hours = {datetime.fromtimestamp(e["open_time_ms"] / 1000, UTC).hour for e in opened}
>>> min(hours) >= 7 and max(hours) < 16
True
"""

from __future__ import annotations

from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo.base import Actions, ZooBot, crossed_above, crossed_below

_FRIDAY = 4
_D1_MINUTES = 1440


class RsiLevelsBot(ZooBot):
    """RSI 14 leaving oversold/overbought: enters on the way back, exits at the midline."""

    name, magic = "rsi-14-levels", 2104
    rules = (
        "RSI 14 crosses up through 30: buy; down through 70: sell; only when flat; a long "
        "closes at RSI >= 50, a short at <= 50; SL 2x ATR 14"
    )

    def decide(self, bar: Bar) -> Actions:
        rsi1, rsi2 = self.chart.rsi(14, 1), self.chart.rsi(14, 2)
        if self.side:
            if (rsi1 - 50.0) * self.side >= 0:
                return self.close_all(bar)
            return []
        atr = self.chart.atr(14, 1)
        if crossed_above(rsi1, rsi2, 30.0, 30.0):
            return self.buy(bar, sl=2 * atr)
        if crossed_below(rsi1, rsi2, 70.0, 70.0):
            return self.sell(bar, sl=2 * atr)
        return []


class RsiSessionBot(ZooBot):
    """A session scalper: RSI 7 extremes in the London/New York hours, never on Fridays."""

    name, magic = "rsi-7-session", 2105
    rules = (
        "RSI 7 < 20: buy, > 80: sell, only 07:00-16:00 UTC Mon-Thu (intraday charts) and "
        "when flat; SL 15 / TP 15 pips; closes after 6 bars"
    )
    hold_bars = 6

    def decide(self, bar: Bar) -> Actions:
        orders = self.orders
        if orders:
            if self.bars_held(orders[0], bar) >= self.hold_bars:
                return self.close_all(bar)
            return []
        now = self.chart.moment()
        intraday = bar.timeframe_minutes < _D1_MINUTES
        if intraday and not 7 <= now.hour < 16 or now.weekday() == _FRIDAY:
            return []
        rsi = self.chart.rsi(7, 1)
        if rsi < 20.0:
            return self.buy(bar, sl=self.pips(15), tp=self.pips(15))
        if rsi > 80.0:
            return self.sell(bar, sl=self.pips(15), tp=self.pips(15))
        return []


class StochasticCrossBot(ZooBot):
    """Stochastic 5,3,3 %K/%D crosses inside the extreme zones, with a time exit."""

    name, magic = "stoch-5-3-3", 2106
    rules = (
        "Stochastic 5,3,3: %K crosses above %D with both < 20: buy; below with both > 80: "
        "sell; only when flat; SL 20 / TP 30 pips; closes after 12 bars"
    )
    hold_bars = 12

    def decide(self, bar: Bar) -> Actions:
        orders = self.orders
        if orders:
            if self.bars_held(orders[0], bar) >= self.hold_bars:
                return self.close_all(bar)
            return []
        k1, d1 = self.chart.stochastic(5, 3, 3, 1)
        k2, d2 = self.chart.stochastic(5, 3, 3, 2)
        if k1 < 20 and d1 < 20 and crossed_above(k1, k2, d1, d2):
            return self.buy(bar, sl=self.pips(20), tp=self.pips(30))
        if k1 > 80 and d1 > 80 and crossed_below(k1, k2, d1, d2):
            return self.sell(bar, sl=self.pips(20), tp=self.pips(30))
        return []


class StochasticTrendBot(ZooBot):
    """Stochastic 14,3,3 pullbacks in the EMA 50 trend, with a trailing stop."""

    name, magic = "stoch-14-ema50", 2107
    rules = (
        "Close above EMA 50 and Stochastic 14,3,3 %K crosses up through 30: buy (below, "
        "down through 70: sell); flat only; closes a long at %K > 80 (short < 20); SL 30 "
        "pips, trailing 25 pips from 15 in profit, 5-pip steps"
    )

    def decide(self, bar: Bar) -> Actions:
        chart = self.chart
        k1, _ = chart.stochastic(14, 3, 3, 1)
        k2, _ = chart.stochastic(14, 3, 3, 2)
        if self.side > 0 and k1 > 80 or self.side < 0 and k1 < 20:
            return self.close_all(bar)
        if self.side:
            return self.trail(bar, self.pips(25), start=self.pips(15), step=self.pips(5))
        trend = chart.close(1) - chart.ma(50, 1, "ema")
        if trend > 0 and crossed_above(k1, k2, 30.0, 30.0):
            return self.buy(bar, sl=self.pips(30))
        if trend < 0 and crossed_below(k1, k2, 70.0, 70.0):
            return self.sell(bar, sl=self.pips(30))
        return []


class CciBreakoutBot(ZooBot):
    """CCI 20 breaking out beyond +/-100, held until it crosses back through zero."""

    name, magic = "cci-20-100", 2113
    rules = (
        "CCI 20 crosses above +100: buy, below -100: sell; only when flat; a long closes "
        "when CCI crosses below 0 (short: above 0); SL 50 pips"
    )

    def decide(self, bar: Bar) -> Actions:
        cci1, cci2 = self.chart.cci(20, 1), self.chart.cci(20, 2)
        if self.side > 0 and crossed_below(cci1, cci2, 0.0, 0.0):
            return self.close_all(bar)
        if self.side < 0 and crossed_above(cci1, cci2, 0.0, 0.0):
            return self.close_all(bar)
        if self.side:
            return []
        if crossed_above(cci1, cci2, 100.0, 100.0):
            return self.buy(bar, sl=self.pips(50))
        if crossed_below(cci1, cci2, -100.0, -100.0):
            return self.sell(bar, sl=self.pips(50))
        return []


class WilliamsReversalBot(ZooBot):
    """A stop-and-reverse on Williams %R 14 leaving its extremes."""

    name, magic = "wpr-14-reversal", 2114
    rules = (
        "Williams %R 14 crosses up through -90: close a short and buy; down through -10: "
        "close a long and sell; SL 40 pips"
    )

    def decide(self, bar: Bar) -> Actions:
        wpr1, wpr2 = self.chart.wpr(14, 1), self.chart.wpr(14, 2)
        if crossed_above(wpr1, wpr2, -90.0, -90.0):
            return self.reverse_into(bar, +1, sl=self.pips(40))
        if crossed_below(wpr1, wpr2, -10.0, -10.0):
            return self.reverse_into(bar, -1, sl=self.pips(40))
        return []
