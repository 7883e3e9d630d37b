"""MT4's built-ins over a bar frame, as an EA sees them when a new bar opens.

`ChartMirror(bars).environment(row)` is the `Environment` in which a feature's MQL4
expression (`botcopier.codegen.expression`) evaluates to what the generated EA computes
after bar ``row`` closed: shift 0 is the bar opening now, shift 1 is ``row``. The
indicators follow MT4's definitions (``trainers/indicators.py``, tested against them) and are
computed once per chart over the whole history, as the terminal does.

``Time[0]`` is the opening bar's time: the next row's time when the frame has it (after a
weekend, Monday's open), else ``row``'s open plus the timeframe. Times are UTC, so
``BcUtc`` is the identity here. ``MarketInfo(Symbol(), MODE_SPREAD)`` is the spread of the
bar just closed (the trainer's value; live, the terminal's current spread).

Examples
--------
>>> import pandas as pd
>>> bars = pd.DataFrame({"time_ms": [0, 3_600_000, 7_200_000], "timeframe_minutes": 60,
...                      "open": [1.0, 1.1, 1.2], "high": [1.2, 1.3, 1.4],
...                      "low": [0.9, 1.0, 1.1], "close": [1.1, 1.2, 1.3], "spread_points": 12})
>>> env = ChartMirror(bars).environment(1, position=-1)
>>> from botcopier.codegen.expression import evaluate, parse
>>> [evaluate(parse(text), env) for text in
...  ("Close[1]", "High[iHighest(NULL,0,MODE_HIGH,2,1)]", "(double)BcPositionSide(MagicNumber)",
...   "TimeHour(BcUtc(Time[0]))", "(double)MarketInfo(Symbol(),MODE_SPREAD)")]
[1.2, 1.3, -1.0, 2.0, 12.0]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from botcopier.codegen.expression import Environment, ExpressionError
from botcopier.trainers import indicators as ind
from botcopier.trainers.labels import FLAT_STATE

_MINUTE_MS = 60_000
# MQL4's values of the constants feature expressions use.
CONSTANTS = {
    "NULL": 0.0, "MODE_SMA": 0.0, "MODE_EMA": 1.0, "PRICE_CLOSE": 0.0, "PRICE_OPEN": 1.0,
    "PRICE_HIGH": 2.0, "PRICE_LOW": 3.0, "MODE_MAIN": 0.0, "MODE_SIGNAL": 1.0,
    "MODE_UPPER": 1.0, "MODE_LOWER": 2.0, "MODE_LOW": 1.0, "MODE_HIGH": 2.0,
    "MODE_SPREAD": 13.0, "M_PI": math.pi, "MagicNumber": 0.0, "PRICE_TYPICAL": 5.0,
    "MODE_PLUSDI": 1.0, "MODE_MINUSDI": 2.0,
}  # fmt: skip
_PRICES = {0: "close", 1: "open", 2: "high", 3: "low"}


def _cross(now: float, before: float) -> float:
    """Features.mqh's BcCross: the sign of a spread's turn through zero, else 0."""
    if before <= 0.0 < now:
        return 1.0
    if before >= 0.0 > now:
        return -1.0
    return 0.0


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ExpressionError(f"the mirror has no {what}")


class ChartMirror:
    """One symbol's chart: its bars (oldest first) and MT4's indicators over them."""

    def __init__(self, bars: pd.DataFrame) -> None:
        self.bars = bars.reset_index(drop=True)
        self.series = {
            name.capitalize(): self.bars[name].to_numpy(dtype=float)
            for name in ("open", "high", "low", "close")
        }
        self.time_ms = self.bars["time_ms"].to_numpy(dtype=np.int64)
        self.step_ms = int(self.bars["timeframe_minutes"].iloc[0]) * _MINUTE_MS
        self._cache: dict[tuple[Any, ...], Any] = {}

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _price(self, price: float) -> np.ndarray:
        _require(int(price) in _PRICES, f"applied price {price}")
        return self.series[_PRICES[int(price)].capitalize()]

    def environment(
        self, row: int, *, position: float = 0.0, state: dict[str, float] | None = None
    ) -> Environment:
        """The built-ins as the EA sees them when the bar after ``row`` opens.

        ``state`` is what its own orders say (the keys of `labels.STATE_COLUMNS`: the oldest
        open order's open time and price, the last open and close times, -1 for none, and
        how many orders are open); flat with no history when absent.
        """
        now = row + 1  # the index of shift 0
        held = {**FLAT_STATE, **(state or {})}

        def bar_shift(time_ms: float) -> int:
            """iBarShift(NULL, 0, t, false): back from shift 0 to the last bar opened by t."""
            opened = [k for k in range(len(self.time_ms)) if self.time_ms[k] <= time_ms]
            _require(bool(opened), f"a bar at or before {time_ms}")
            return now - opened[-1]

        def since(key: str, cap: float) -> float:
            return cap if held[key] < 0 else float(min(bar_shift(held[key]), int(cap)))

        def profit_atr(magic: float, atr: float) -> float:
            if held["entry_ms"] < 0:
                return 0.0
            gain = position * (float(self.series["Close"][row]) - held["entry_price"])
            return 0.0 if atr == 0 else gain / atr

        def at(values: np.ndarray, shift: float) -> float:
            index = now - int(shift)
            _require(0 <= index <= row, f"bar at shift {shift} (row {row})")
            return float(values[index])

        def chart(symbol: float, timeframe: float) -> None:
            _require(symbol == 0 and timeframe == 0, "other symbols or timeframes")

        def i_ma(symbol, timeframe, period, ma_shift, method, price, shift):
            chart(symbol, timeframe)
            _require(ma_shift == 0 and method in (0, 1), f"iMA method {method} shift {ma_shift}")
            average = ind.sma if method == 0 else ind.ema
            key = ("ma", period, method, price)
            return at(self._cached(key, lambda: average(self._price(price), int(period))), shift)

        def i_rsi(symbol, timeframe, period, price, shift):
            chart(symbol, timeframe)
            key = ("rsi", period, price)
            return at(self._cached(key, lambda: ind.rsi(self._price(price), int(period))), shift)

        def on_hlc(key: tuple[Any, ...], indicator: Callable[..., Any], *params: int) -> Any:
            """An indicator of the chart's highs, lows and closes, computed once."""
            s = self.series
            return self._cached(key, lambda: indicator(s["High"], s["Low"], s["Close"], *params))

        def i_atr(symbol, timeframe, period, shift):
            chart(symbol, timeframe)
            return at(on_hlc(("atr", period), ind.atr, int(period)), shift)

        def i_bands(symbol, timeframe, period, deviation, bands_shift, price, mode, shift):
            chart(symbol, timeframe)
            _require(bands_shift == 0 and mode in (0, 1, 2), f"iBands mode {mode}")
            key = ("bands", period, deviation, price)
            lower, middle, upper = self._cached(
                key, lambda: ind.bands(self._price(price), int(period), deviation)
            )
            return at({0: middle, 1: upper, 2: lower}[int(mode)], shift)

        def i_macd(symbol, timeframe, fast, slow, signal, price, mode, shift):
            chart(symbol, timeframe)
            key = ("macd", fast, slow, signal, price)
            lines = self._cached(
                key, lambda: ind.macd(self._price(price), int(fast), int(slow), int(signal))
            )
            return at(lines[int(mode)], shift)

        def i_stochastic(symbol, timeframe, k, d, slowing, method, price_field, mode, shift):
            chart(symbol, timeframe)
            _require(method == 0 and price_field == 0, "iStochastic other than SMA, Low/High")
            key = ("stochastic", k, d, slowing)
            lines = on_hlc(key, ind.stochastic, int(k), int(d), int(slowing))
            return at(lines[int(mode)], shift)

        def i_cci(symbol, timeframe, period, price, shift):
            chart(symbol, timeframe)
            _require(price == 5, f"iCCI applied price {price} (only PRICE_TYPICAL)")
            return at(on_hlc(("cci", period), ind.cci, int(period)), shift)

        def i_wpr(symbol, timeframe, period, shift):
            chart(symbol, timeframe)
            return at(on_hlc(("wpr", period), ind.wpr, int(period)), shift)

        def i_adx(symbol, timeframe, period, price, mode, shift):
            chart(symbol, timeframe)
            _require(mode in (0, 1, 2), f"iADX mode {mode}")
            return at(on_hlc(("adx", period), ind.adx, int(period))[int(mode)], shift)

        def i_envelopes(symbol, timeframe, period, method, ma_shift, price, deviation, mode, shift):
            chart(symbol, timeframe)
            _require(ma_shift == 0 and method in (0, 1) and mode in (0, 1, 2),
                     f"iEnvelopes method {method} shift {ma_shift} mode {mode}")  # fmt: skip
            key = ("envelopes", period, method, price, deviation)
            lower, middle, upper = self._cached(
                key,
                lambda: ind.envelopes(
                    self._price(price), int(period), deviation, "sma" if method == 0 else "ema"
                ),
            )
            return at({0: middle, 1: upper, 2: lower}[int(mode)], shift)

        def i_momentum(symbol, timeframe, period, price, shift):
            chart(symbol, timeframe)
            key = ("momentum", period, price)
            values = self._cached(key, lambda: ind.momentum(self._price(price), int(period)))
            return at(values, shift)

        def extreme(symbol, timeframe, series, count, start, pick) -> float:
            chart(symbol, timeframe)
            values = self.series["High" if series == 2 else "Low"]
            shifts = range(int(start), int(start) + int(count))
            window = [at(values, s) for s in shifts]
            return float(shifts[int(pick(window))])  # the first (newest) on a tie, as MT4

        def server_seconds(shift: float) -> float:
            index = now - int(shift)
            if index == now:
                ms = (
                    self.time_ms[now]
                    if now < len(self.time_ms)
                    else self.time_ms[row] + self.step_ms
                )
            else:
                ms = at(self.time_ms, shift)
            return float(ms // 1000)

        def gmtime(seconds: float) -> time.struct_time:
            return time.gmtime(int(seconds))

        functions: dict[str, Callable[..., float]] = {
            "iMA": i_ma, "iRSI": i_rsi, "iATR": i_atr, "iBands": i_bands, "iMACD": i_macd,
            "iStochastic": i_stochastic, "iCCI": i_cci, "iWPR": i_wpr, "iADX": i_adx,
            "iEnvelopes": i_envelopes, "iMomentum": i_momentum,
            "iHighest": lambda *args: extreme(*args, np.argmax),
            "iLowest": lambda *args: extreme(*args, np.argmin),
            "MathSin": math.sin, "MathCos": math.cos, "MathAbs": abs, "MathSqrt": math.sqrt,
            "MathLog": math.log, "MathMax": max, "MathMin": min,
            "TimeHour": lambda s: float(gmtime(s).tm_hour),
            "TimeDayOfWeek": lambda s: float((gmtime(s).tm_wday + 1) % 7),  # Sunday is 0
            "BcUtc": lambda s: s,
            "BcSafeDiv": lambda a, b, fallback: fallback if b == 0 else a / b,
            "BcCross": _cross,
            "BcPositionSide": lambda magic: float(position),
            "BcPositionAgeBars": lambda magic: (
                0.0 if held["entry_ms"] < 0 else float(bar_shift(held["entry_ms"]))
            ),
            "BcPositionProfitAtr": profit_atr,
            "BcBarsSinceEntry": lambda magic, cap: since("last_entry_ms", cap),
            "BcBarsSinceExit": lambda magic, cap: since("last_exit_ms", cap),
            "BcOpenTickets": lambda magic: float(held["open_tickets"]),
            "Symbol": lambda: 0.0,
            "MarketInfo": lambda symbol, mode: (
                _require(mode == 13, f"MarketInfo mode {mode}")
                or float(self.bars["spread_points"].iloc[row])
            ),
        }  # fmt: skip
        series = {
            name: (lambda shift, v=values: at(v, shift)) for name, values in self.series.items()
        }
        series["Time"] = server_seconds
        return Environment(functions=functions, constants=CONSTANTS, series=series)
