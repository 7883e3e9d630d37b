"""Line-cross EAs: moving-average crosses and the MACD signal-line cross.

Examples
--------
>>> from botcopier.bridge.simulator.history import real_bars
>>> bars = real_bars("EURUSD", "H1")
>>> bot = EmaCrossBot(bars)
>>> events = [event for bar in bars for event in bot.on_bar(bar)]
>>> events[0]["comment"], events[0]["magic"], bot.decisions.count("buy") > 50
('ema-8-21', 2101, True)
"""

from __future__ import annotations

from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo.base import Actions, ZooBot, crossed_above, crossed_below


class EmaCrossBot(ZooBot):
    """Always in the market: EMA 8/21 crosses reverse the position."""

    name, magic = "ema-8-21", 2101
    rules = "EMA 8 crosses EMA 21 (shift 1 vs 2): reverse into the cross's side; no stops"

    def decide(self, bar: Bar) -> Actions:
        chart = self.chart
        fast1, fast2 = chart.ma(8, 1, "ema"), chart.ma(8, 2, "ema")
        slow1, slow2 = chart.ma(21, 1, "ema"), chart.ma(21, 2, "ema")
        if crossed_above(fast1, fast2, slow1, slow2):
            return self.reverse_into(bar, +1)
        if crossed_below(fast1, fast2, slow1, slow2):
            return self.reverse_into(bar, -1)
        return []


class SmaTrendCrossBot(ZooBot):
    """SMA 10/30 crosses taken only with the SMA 200 trend; flat before a new entry."""

    name, magic, lots = "sma-10-30-trend", 2102, 0.2
    rules = (
        "SMA 10 x SMA 30 cross, buys only above SMA 200 and sells only below; an opposite "
        "cross closes (no entry on that bar); SL 40 / TP 80 pips"
    )

    def decide(self, bar: Bar) -> Actions:
        chart = self.chart
        fast1, fast2 = chart.ma(10, 1), chart.ma(10, 2)
        slow1, slow2 = chart.ma(30, 1), chart.ma(30, 2)
        side = 0
        if crossed_above(fast1, fast2, slow1, slow2):
            side = +1
        elif crossed_below(fast1, fast2, slow1, slow2):
            side = -1
        if side == 0:
            return []
        if self.side == -side:
            return self.close_all(bar)
        trend = chart.ma(200, 1)
        if self.side == 0 and (chart.close(1) - trend) * side > 0:
            return self.enter(bar, side, sl=self.pips(40), tp=self.pips(80))
        return []


class PyramidBot(ZooBot):
    """SMA 20/50 cross entries that add a second ticket once the trade is 1 ATR in profit."""

    name, magic = "ma-pyramid", 2103
    rules = (
        "SMA 20 x SMA 50 cross: close all and open the cross's side; add a 2nd ticket when "
        "Close is 1x ATR 14 beyond the 1st's open; each ticket SL 2x ATR 14"
    )
    max_tickets = 2

    def decide(self, bar: Bar) -> Actions:
        chart = self.chart
        fast1, fast2 = chart.ma(20, 1), chart.ma(20, 2)
        slow1, slow2 = chart.ma(50, 1), chart.ma(50, 2)
        atr = chart.atr(14, 1)
        if crossed_above(fast1, fast2, slow1, slow2):
            return self.reverse_into(bar, +1, sl=2 * atr)
        if crossed_below(fast1, fast2, slow1, slow2):
            return self.reverse_into(bar, -1, sl=2 * atr)
        orders = self.orders
        if 0 < len(orders) < self.max_tickets:
            first = orders[0]
            if (chart.close(1) - first.open_price) * first.direction >= atr:
                return self.enter(bar, first.direction, sl=2 * atr)
        return []


class MacdSignalBot(ZooBot):
    """MACD 12,26,9 signal crosses on the far side of zero; left to its ATR stop and target."""

    name, magic = "macd-12-26-9", 2108
    rules = (
        "MACD 12,26,9 main crosses above signal below zero: buy; below signal above zero: "
        "sell; only when flat; exits only by SL 1.5x / TP 3x ATR 14"
    )

    def decide(self, bar: Bar) -> Actions:
        if self.side:
            return []
        chart = self.chart
        main1, signal1 = chart.macd(12, 26, 9, 1)
        main2, signal2 = chart.macd(12, 26, 9, 2)
        atr = chart.atr(14, 1)
        if main1 < 0 and crossed_above(main1, main2, signal1, signal2):
            return self.buy(bar, sl=1.5 * atr, tp=3 * atr)
        if main1 > 0 and crossed_below(main1, main2, signal1, signal2):
            return self.sell(bar, sl=1.5 * atr, tp=3 * atr)
        return []
