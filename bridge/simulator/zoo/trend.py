"""Trend EAs: conjunctions of trend and momentum readings.

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
from botcopier.bridge.simulator.zoo.base import Actions, ZooBot


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
