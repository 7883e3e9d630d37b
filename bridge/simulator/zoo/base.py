"""The zoo's bot base: an MT4 EA's ``start()`` at each new bar, reading its chart by shift.

A zoo bot is a `SimulatedBot` bound to one `Chart` (the history it is attached to). On each
closed bar it first lets the broker fill stops (`SimulatedBot._stop_hits`, every ticket),
then `decide` runs, as an EA's code does on the first tick of the next bar. The verbs a rule
calls (`buy`, `sell`, `close_all`, `close_order`, `trail`) trade the paper account and write
down what the bot decided, so a test can hold the trade log's labels against the bot's own
choices: per bar, ``decisions`` is ``buy``/``sell`` (the last side it opened), else
``close`` (it closed something itself), else ``none``; ``positions`` is the side it held
when it decided (+1, -1, 0).

Stops are price distances: ``pips(20)`` for a pip-based EA, ``2 * chart.atr(14)`` for an
ATR-based one.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from botcopier.bridge.simulator.bots import SimulatedBot
from botcopier.bridge.simulator.ledger import Order, PaperAccount, Side
from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo.chart import Chart

Actions = list[dict[str, Any]]


class ZooBot(SimulatedBot):
    """An MT4-style rule-based EA on one chart; subclasses set the class fields and `decide`."""

    name: ClassVar[str]
    magic: ClassVar[int]
    lots: ClassVar[float] = 0.1
    # One line: indicators and periods, entry, exit, stops (the zoo's table reads it).
    rules: ClassVar[str] = ""
    # MQL4's ``if (Bars < min_bars) return;``: no decisions before the chart has this many.
    min_bars: ClassVar[int] = 0
    # True for a bot whose rules need intraday bars (it never trades on D1 and longer).
    intraday_only: ClassVar[bool] = False

    def __init__(
        self, bars: Sequence[Bar], *, account: PaperAccount | None = None, digits: int = 5
    ) -> None:
        chart = Chart(bars)
        super().__init__(
            self.name, self.magic, chart.bars[0].symbol, lots=self.lots, account=account,
            digits=digits,
        )  # fmt: skip
        self.chart = chart
        self.decisions: list[str] = []
        self.positions: list[int] = []
        self._opened: str | None = None
        self._closed = False

    @abstractmethod
    def decide(self, bar: Bar) -> Actions:
        """The EA's rules at the open of the bar after ``bar``; returns the actions taken."""

    def on_bar(self, bar: Bar) -> Actions:
        if bar.symbol != self.symbol:
            return []
        self.chart.seek(bar)
        actions = self._stop_hits(bar)
        self.positions.append(self.side)
        self._opened, self._closed = None, False
        if self.chart.bars_seen >= self.min_bars:
            actions += self.decide(bar)
        self.decisions.append(self._opened or ("close" if self._closed else "none"))
        return actions

    # What the bot holds.
    @property
    def orders(self) -> list[Order]:
        """Its open tickets on its symbol, oldest first."""
        return self.account.orders(self.magic, self.symbol)

    @property
    def side(self) -> int:
        """+1 long, -1 short, 0 flat (net over its tickets)."""
        net = sum(order.direction * order.lots for order in self.orders)
        return 0 if abs(net) < 1e-12 else (1 if net > 0 else -1)

    def pips(self, count: float) -> float:
        """``count`` pips as a price distance (MT4: a pip is 10 points on 3/5-digit quotes)."""
        return count * self.pip

    def bars_held(self, order: Order, bar: Bar) -> int:
        """Closed bars since ``order`` opened (1 on the bar after the one it opened on)."""
        return (bar.end_ms - order.open_time_ms) // (bar.timeframe_minutes * 60_000)

    # What it does.
    def buy(self, bar: Bar, sl: float = 0.0, tp: float = 0.0) -> Actions:
        """Open a buy at the ask with stops ``sl``/``tp`` away (price distances; 0 for none)."""
        return self._enter(bar, "BUY", sl, tp)

    def sell(self, bar: Bar, sl: float = 0.0, tp: float = 0.0) -> Actions:
        return self._enter(bar, "SELL", sl, tp)

    def enter(self, bar: Bar, side: int, sl: float = 0.0, tp: float = 0.0) -> Actions:
        """`buy` for side +1, `sell` for -1."""
        return self._enter(bar, "BUY" if side > 0 else "SELL", sl, tp)

    def reverse_into(self, bar: Bar, side: int, sl: float = 0.0, tp: float = 0.0) -> Actions:
        """Close anything on the other side, then open ``side`` unless already there."""
        actions = []
        if self.side == -side:
            actions += self.close_all(bar)
        if self.side == 0:
            actions += self.enter(bar, side, sl, tp)
        return actions

    def close_order(self, order: Order, bar: Bar) -> Actions:
        self._closed = True
        return self._close(order, bar)

    def close_all(self, bar: Bar) -> Actions:
        actions: Actions = []
        for order in self.orders:
            actions += self.close_order(order, bar)
        return actions

    def trail(self, bar: Bar, distance: float, *, start: float = 0.0, step: float = 0.0) -> Actions:
        """Trail every ticket's stop ``distance`` behind the exit price, once ``start`` in profit,
        moving it only forward and by at least ``step`` (price distances)."""
        actions: Actions = []
        for order in self.orders:
            exit_price = self._exit_price(order, bar)
            if (exit_price - order.open_price) * order.direction < start:
                continue
            wanted = round(exit_price - order.direction * distance, self.digits)
            better = (wanted - order.sl) * order.direction if order.sl else float("inf")
            if better > 0 and better >= step:
                actions += self._modify(order, bar, wanted)
        return actions

    def _enter(self, bar: Bar, side: Side, sl: float, tp: float) -> Actions:
        if not (math.isfinite(sl) and math.isfinite(tp)):
            raise ValueError(f"{self.name}: stop distances must be numbers, got sl={sl} tp={tp}")
        self._opened = side.lower()
        return self._open(bar, side, sl / self.pip, tp / self.pip)


def crossed_above(now: float, before: float, level_now: float, level_before: float) -> bool:
    """A line closed above another (or a level) on the last bar, having been at or below it.

    >>> crossed_above(31.0, 29.0, 30.0, 30.0), crossed_above(31.0, 30.5, 30.0, 30.0)
    (True, False)
    >>> crossed_above(float("nan"), 29.0, 30.0, 30.0)
    False
    """
    return before <= level_before and now > level_now


def crossed_below(now: float, before: float, level_now: float, level_before: float) -> bool:
    """The mirror of `crossed_above`.

    >>> crossed_below(69.0, 71.0, 70.0, 70.0)
    True
    """
    return before >= level_before and now < level_now
