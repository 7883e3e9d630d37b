"""An EA's view of its chart: prices and MT4 built-in indicators addressed by shift.

MT4 computes an indicator once over the chart's whole history and an EA reads it by shift:
``iRSI(NULL, 0, 14, PRICE_CLOSE, 1)`` is the RSI of the last closed bar. `Chart` does the
same over a bar list with `botcopier.trainers.indicators`: each indicator is computed once,
on first use, over every bar (they are causal: a value depends only on its bar and older
ones), and `seek` moves the chart's "now" to the open of the bar after the one that just
closed. So ``shift=1`` is that closed bar, ``shift=2`` the one before; the forming bar
(shift 0) has only its open time, `time_ms` ``(0)``. A value the history is too short for
is NaN, and NaN compares false, so an EA's conditions stay unmet during the warm-up.

Examples
--------
>>> from botcopier.bridge.simulator.market import random_walk_bars
>>> bars = list(random_walk_bars("EURUSD", start_ms=0, count=50, seed=1))
>>> chart = Chart(bars)
>>> chart.seek(bars[20])
>>> chart.close(1) == bars[20].close, chart.close(2) == bars[19].close
(True, True)
>>> chart.time_ms(0) == bars[21].time_ms
True
>>> round(chart.ma(5, 1), 5) == round(sum(b.close for b in bars[16:21]) / 5, 5)
True
>>> import math
>>> math.isnan(chart.rsi(14, 8))  # bar 13 has only 13 changes behind it
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from botcopier.bridge.simulator.exceptions import SimulatorError
from botcopier.bridge.simulator.market import Bar
from botcopier.trainers import indicators

MaMethod = Literal["sma", "ema"]


class ChartError(SimulatorError):
    """A bar the chart does not hold, or a shift it cannot read."""


class Chart:
    """One symbol's bars with MT4-style accessors; `seek` sets which bar just closed."""

    def __init__(self, bars: Sequence[Bar]) -> None:
        if not bars:
            raise ChartError("a chart needs at least one bar")
        self.bars = list(bars)
        self._index = {bar.time_ms: i for i, bar in enumerate(self.bars)}
        if len(self._index) != len(self.bars):
            raise ChartError("two bars share an open time")
        self._open = np.array([b.open for b in self.bars])
        self._high = np.array([b.high for b in self.bars])
        self._low = np.array([b.low for b in self.bars])
        self._close = np.array([b.close for b in self.bars])
        self._series: dict[tuple, tuple[np.ndarray, ...]] = {}
        self.now = -1  # index of the bar that closed last

    def seek(self, bar: Bar) -> None:
        """Make ``bar`` the last closed one (shift 1): an EA's tick at the next bar's open."""
        try:
            self.now = self._index[bar.time_ms]
        except KeyError:
            raise ChartError(f"the chart has no bar opening at {bar.time_ms}") from None

    @property
    def bars_seen(self) -> int:
        """How many bars have closed (MT4's ``Bars - 1``)."""
        return self.now + 1

    # Prices: Open[shift], High[shift], Low[shift], Close[shift].
    def open(self, shift: int = 1) -> float:
        return self._at(self._open, shift)

    def high(self, shift: int = 1) -> float:
        return self._at(self._high, shift)

    def low(self, shift: int = 1) -> float:
        return self._at(self._low, shift)

    def close(self, shift: int = 1) -> float:
        return self._at(self._close, shift)

    def time_ms(self, shift: int = 0) -> int:
        """Open time of the bar ``shift`` back; shift 0 is the bar now forming.

        ``Time[0]`` is the next bar's open when the chart holds it (after a weekend, the
        week's first bar, as the EA's first tick sees it), else the closed bar's end.
        """
        if shift == 0:
            following = self.now + 1
            if following < len(self.bars):
                return self.bars[following].time_ms
            return self.bars[self.now].end_ms
        index = self._index_of(shift)
        return self.bars[index].time_ms if index >= 0 else 0

    def moment(self) -> datetime:
        """The forming bar's open (``Time[0]``) in UTC: what session and weekday rules read."""
        return datetime.fromtimestamp(self.time_ms(0) / 1000, UTC)

    def highest(self, count: int, shift: int = 1) -> float:
        """The highest high of ``count`` bars from ``shift`` back (``High[iHighest(...)]``)."""
        return self._window(self._high, count, shift, np.max)

    def lowest(self, count: int, shift: int = 1) -> float:
        return self._window(self._low, count, shift, np.min)

    # Indicators, named and parameterised as MT4's iMA, iRSI, iATR, iBands, iMACD, iStochastic.
    def ma(self, period: int, shift: int = 1, method: MaMethod = "sma") -> float:
        compute = {"sma": indicators.sma, "ema": indicators.ema}[method]
        (values,) = self._get(("ma", period, method), lambda: (compute(self._close, period),))
        return self._at(values, shift)

    def rsi(self, period: int = 14, shift: int = 1) -> float:
        (values,) = self._get(("rsi", period), lambda: (indicators.rsi(self._close, period),))
        return self._at(values, shift)

    def atr(self, period: int = 14, shift: int = 1) -> float:
        (values,) = self._get(
            ("atr", period),
            lambda: (indicators.atr(self._high, self._low, self._close, period),),
        )
        return self._at(values, shift)

    def bands(
        self, period: int = 20, deviation: float = 2.0, shift: int = 1
    ) -> tuple[float, float, float]:
        """(lower, middle, upper) Bollinger bands of the close."""
        series = self._get(
            ("bands", period, deviation),
            lambda: indicators.bands(self._close, period, deviation),
        )
        return self._each(series, shift)

    def macd(
        self, fast: int = 12, slow: int = 26, signal: int = 9, shift: int = 1
    ) -> tuple[float, float]:
        """(main, signal): MT4's MACD, whose signal line is an SMA of the main line."""
        series = self._get(
            ("macd", fast, slow, signal), lambda: indicators.macd(self._close, fast, slow, signal)
        )
        return self._each(series, shift)

    def stochastic(
        self, k_period: int = 5, d_period: int = 3, slowing: int = 3, shift: int = 1
    ) -> tuple[float, float]:
        """(main %K, signal %D), Low/High price field, SMA %D."""
        series = self._get(
            ("stochastic", k_period, d_period, slowing),
            lambda: indicators.stochastic(
                self._high, self._low, self._close, k_period, d_period, slowing
            ),
        )
        return self._each(series, shift)

    def cci(self, period: int = 14, shift: int = 1) -> float:
        """Commodity Channel Index of the typical price (``iCCI(..., PRICE_TYPICAL, shift)``)."""
        (values,) = self._get(
            ("cci", period),
            lambda: (indicators.cci(self._high, self._low, self._close, period),),
        )
        return self._at(values, shift)

    def wpr(self, period: int = 14, shift: int = 1) -> float:
        """Williams' %R, -100..0."""
        (values,) = self._get(
            ("wpr", period),
            lambda: (indicators.wpr(self._high, self._low, self._close, period),),
        )
        return self._at(values, shift)

    def adx(self, period: int = 14, shift: int = 1) -> tuple[float, float, float]:
        """(ADX, +DI, -DI): ``iADX`` MODE_MAIN, MODE_PLUSDI, MODE_MINUSDI."""
        series = self._get(
            ("adx", period), lambda: indicators.adx(self._high, self._low, self._close, period)
        )
        return self._each(series, shift)

    def envelopes(
        self, period: int = 14, deviation_percent: float = 0.1, shift: int = 1,
        method: MaMethod = "sma",
    ) -> tuple[float, float, float]:  # fmt: skip
        """(lower, middle, upper): the MA of the close -/+ ``deviation_percent`` percent."""
        series = self._get(
            ("envelopes", period, deviation_percent, method),
            lambda: indicators.envelopes(self._close, period, deviation_percent, method),
        )
        return self._each(series, shift)

    def momentum(self, period: int = 14, shift: int = 1) -> float:
        """``100 * Close / Close period bars earlier``."""
        (values,) = self._get(
            ("momentum", period), lambda: (indicators.momentum(self._close, period),)
        )
        return self._at(values, shift)

    def _get(self, key: tuple, compute: Callable[[], tuple[np.ndarray, ...]]):
        if key not in self._series:
            self._series[key] = tuple(np.asarray(a, dtype=float) for a in compute())
        return self._series[key]

    def _index_of(self, shift: int) -> int:
        if shift < 1:
            raise ChartError(f"shift {shift}: only closed bars (shift >= 1) have values")
        if self.now < 0:
            raise ChartError("seek a bar first")
        return self.now - shift + 1

    def _at(self, values: np.ndarray, shift: int) -> float:
        index = self._index_of(shift)
        return float(values[index]) if index >= 0 else float("nan")

    def _each(self, series: tuple[np.ndarray, ...], shift: int) -> tuple:
        return tuple(self._at(values, shift) for values in series)

    def _window(self, values: np.ndarray, count: int, shift: int, reduce) -> float:
        last = self._index_of(shift)
        first = last - count + 1
        return float(reduce(values[first : last + 1])) if first >= 0 else float("nan")
