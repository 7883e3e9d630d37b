"""Band EAs: Bollinger Bands breakouts and reversions, envelope reversions.

Examples
--------
>>> from botcopier.bridge.simulator.history import real_bars
>>> bars = real_bars("EURUSD", "H1")
>>> bot = BollingerReversionBot(bars)
>>> _ = [bot.on_bar(bar) for bar in bars]
>>> len(bot.decisions) == len(bars), {"buy", "sell", "close"} <= set(bot.decisions)
(True, True)
"""

from __future__ import annotations

from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo.base import Actions, ZooBot

_D1_MINUTES = 1440


class BollingerBreakoutBot(ZooBot):
    """Closes breaking out of the 20/2 bands, ridden with a trailing stop to the middle band."""

    name, magic = "bb-20-2-breakout", 2109
    rules = (
        "Close crosses above the upper Bollinger 20/2: buy, below the lower: sell; flat only; "
        "closes when Close crosses back over the middle band; SL 30 pips, trailing 20 pips "
        "from 20 in profit, 5-pip steps"
    )

    def decide(self, bar: Bar) -> Actions:
        chart = self.chart
        lower1, middle1, upper1 = chart.bands(20, 2.0, 1)
        close1 = chart.close(1)
        if self.side:
            if (close1 - middle1) * self.side < 0:
                return self.close_all(bar)
            return self.trail(bar, self.pips(20), start=self.pips(20), step=self.pips(5))
        lower2, _, upper2 = chart.bands(20, 2.0, 2)
        close2 = chart.close(2)
        if close1 > upper1 and close2 <= upper2:
            return self.buy(bar, sl=self.pips(30))
        if close1 < lower1 and close2 >= lower2:
            return self.sell(bar, sl=self.pips(30))
        return []


class BollingerReversionBot(ZooBot):
    """Fades a close back inside the 20/2 bands after one outside; targets the middle band."""

    name, magic = "bb-20-2-reversion", 2110
    rules = (
        "Close[2] below the lower Bollinger 20/2 and Close[1] back above it: buy (mirror at "
        "the upper: sell); flat only; closes at the middle band; SL 2x ATR 14"
    )

    def decide(self, bar: Bar) -> Actions:
        chart = self.chart
        lower1, middle1, upper1 = chart.bands(20, 2.0, 1)
        close1 = chart.close(1)
        if self.side:
            if (close1 - middle1) * self.side >= 0:
                return self.close_all(bar)
            return []
        lower2, _, upper2 = chart.bands(20, 2.0, 2)
        close2 = chart.close(2)
        atr = chart.atr(14, 1)
        if close2 < lower2 and close1 > lower1:
            return self.buy(bar, sl=2 * atr)
        if close2 > upper2 and close1 < upper1:
            return self.sell(bar, sl=2 * atr)
        return []


class EnvelopeReversionBot(ZooBot):
    """Fades closes breaking out of the 14-bar 0.1% envelopes, outside the rollover hours."""

    name, magic = "envelopes-14-0.1", 2115
    rules = (
        "Close crosses below the lower Envelope (SMA 14, 0.1%): buy, above the upper: sell; "
        "flat only, no entries 20:00-06:00 UTC (intraday charts); closes when Close is back "
        "at the SMA 14, or after 24 bars; no SL/TP"
    )
    hold_bars = 24

    def decide(self, bar: Bar) -> Actions:
        chart = self.chart
        lower1, middle1, upper1 = chart.envelopes(14, 0.1, 1)
        close1 = chart.close(1)
        orders = self.orders
        if orders:
            back = (close1 - middle1) * self.side >= 0
            if back or self.bars_held(orders[0], bar) >= self.hold_bars:
                return self.close_all(bar)
            return []
        hour = chart.moment().hour
        if bar.timeframe_minutes < _D1_MINUTES and (hour >= 20 or hour < 6):
            return []
        lower2, _, upper2 = chart.envelopes(14, 0.1, 2)
        close2 = chart.close(2)
        if close1 < lower1 and close2 >= lower2:
            return self.buy(bar)
        if close1 > upper1 and close2 <= upper2:
            return self.sell(bar)
        return []
