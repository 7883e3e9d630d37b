"""Trend EAs: ADX directional crosses, momentum in a trend, a trend-and-momentum conjunction.

Examples
--------
>>> from botcopier.bridge.simulator.history import real_bars
>>> bars = real_bars("EURUSD", "H1")
>>> bot = TripleConfirmBot(bars)
>>> _ = [bot.on_bar(bar) for bar in bars]
>>> 30 <= bot.decisions.count("buy") + bot.decisions.count("sell") <= 300
True
"""

from __future__ import annotations

from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo.base import Actions, ZooBot, crossed_above, crossed_below
from botcopier.trainers import indicators

_MONDAY = 0


class TripleConfirmBot(ZooBot):
    """Enters when EMA trend, RSI and MACD first agree; leaves when RSI turns."""

    name, magic = "triple-confirm", 2111
    rules = (
        "EMA 20 > EMA 50, RSI 14 > 50 and MACD 12,26,9 main > signal all true at shift 1 "
        "and not all at shift 2: buy (mirror: sell); flat only; a long closes at RSI 14 < 45 "
        "(short > 55); SL 30 / TP 60 pips"
    )

    def _agreement(self, shift: int) -> int:
        chart = self.chart
        trend = chart.ma(20, shift, "ema") - chart.ma(50, shift, "ema")
        momentum = chart.rsi(14, shift) - 50.0
        main, signal = chart.macd(12, 26, 9, shift)
        signs = [(value > 0) - (value < 0) for value in (trend, momentum, main - signal)]
        return signs[0] if signs[0] and signs.count(signs[0]) == 3 else 0

    def decide(self, bar: Bar) -> Actions:
        if self.side:
            if (self.chart.rsi(14, 1) - 50.0) * self.side < -5.0:
                return self.close_all(bar)
            return []
        now, before = self._agreement(1), self._agreement(2)
        if now and now != before:
            return self.enter(bar, now, sl=self.pips(30), tp=self.pips(60))
        return []


class AdxDiCrossBot(ZooBot):
    """DI crosses in a trending market (ADX above 25), stop-and-reverse, ATR trailing stop."""

    name, magic = "adx-14-di", 2116
    min_bars = indicators.adx_warmup(14)  # ADX's averages start at the chart's first bar
    rules = (
        "ADX 14 > 25 and +DI crosses above -DI: close a short and buy (mirror: sell); SL "
        "2x ATR 14, trailed 2x ATR 14 behind in 5-pip steps"
    )

    def decide(self, bar: Bar) -> Actions:
        adx1, plus1, minus1 = self.chart.adx(14, 1)
        _, plus2, minus2 = self.chart.adx(14, 2)
        atr = self.chart.atr(14, 1)
        if adx1 > 25.0:
            if crossed_above(plus1, plus2, minus1, minus2):
                return self.reverse_into(bar, +1, sl=2 * atr)
            if crossed_below(plus1, plus2, minus1, minus2):
                return self.reverse_into(bar, -1, sl=2 * atr)
        if self.side:
            return self.trail(bar, 2 * atr, step=self.pips(5))
        return []


class MomentumTrendBot(ZooBot):
    """Momentum 14 through 100 in the SMA 100 trend; stays out on Mondays."""

    name, magic = "momentum-14-sma100", 2117
    rules = (
        "Momentum 14 crosses above 100 with Close above SMA 100: buy (below 100, below the "
        "SMA: sell); flat only; no entries on Mondays; SL 25 / TP 50 pips"
    )

    def decide(self, bar: Bar) -> Actions:
        if self.side or self.chart.moment().weekday() == _MONDAY:
            return []
        chart = self.chart
        mom1, mom2 = chart.momentum(14, 1), chart.momentum(14, 2)
        trend = chart.close(1) - chart.ma(100, 1)
        if trend > 0 and crossed_above(mom1, mom2, 100.0, 100.0):
            return self.buy(bar, sl=self.pips(25), tp=self.pips(50))
        if trend < 0 and crossed_below(mom1, mom2, 100.0, 100.0):
            return self.sell(bar, sl=self.pips(25), tp=self.pips(50))
        return []
