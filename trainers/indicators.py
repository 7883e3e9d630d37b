"""MT4's built-in indicators over whole bar arrays, computed the way MetaTrader computes them.

The generated EA calls iMA, iRSI, iATR, iBands, iMACD and iStochastic live; a clone trained
on other numbers would see other inputs than it learned from. So each function here follows
the definition of the MT4 indicator of the same name (the terminal's ``Indicators/*.mq4``):

- ``sma``: plain mean of the last ``period`` values;
- ``ema``: ``e = e_prev + 2 / (period + 1) * (x - e_prev)``, seeded with the SMA of the first
  ``period`` values (as MetaQuotes does); on a chart with history its seed has long decayed,
  so compare only after `ema_warmup` bars;
- ``rsi``: Wilder's smoothing, seeded with plain means of the first ``period`` gains and
  losses; 100 when there are no losses, 50 when neither;
- ``atr``: simple mean of the true range (the first bar's true range is its high - low);
- ``bands``: SMA -/+ ``deviation`` population standard deviations;
- ``macd``: EMA(fast) - EMA(slow) of the close; the signal line is an SMA of it (MT4's MACD,
  unlike most charting packages);
- ``stochastic``: %K with slowing = sum(close - lowest low) / sum(highest high - lowest low)
  over ``slowing`` bars, times 100 (100 when the range is 0); %D is an SMA of %K;
- ``cci``: (typical price - its SMA) / (0.015 * mean absolute deviation from that SMA over
  the same bars); 0 when the deviation is 0;
- ``wpr``: Williams' %R, -100 * (highest high - close) / (highest high - lowest low) over
  ``period`` bars; a flat range repeats the previous value (0 at the start);
- ``adx``: +DM / -DM (the larger of the up and down move, 0 for the other and both on a
  tie), each as a share of the true range (the previous close counts), smoothed by an
  exponential average over the whole history from the first bar (MT4's ``iMAOnArray``
  EMA, seeded with the first value) into +DI and -DI; ADX is the same average of
  ``100 * |+DI - -DI| / (+DI + -DI)``; compare only after `adx_warmup` bars;
- ``envelopes``: a moving average times ``1 -/+ deviation / 100`` (deviation in percent);
- ``momentum``: ``100 * close / close period bars earlier``.

Arrays run oldest first; a value is NaN until the indicator has enough bars.

Examples
--------
>>> import numpy as np
>>> closes = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
>>> sma(closes, 3).tolist()
[nan, nan, 2.0, 3.0, 4.0]
>>> ema(closes, 3).tolist()
[nan, nan, 2.0, 3.0, 4.0]
>>> rsi(np.array([1.0, 1.1, 1.2, 1.1, 1.2]), 3).round(4).tolist()
[nan, nan, nan, 66.6667, 77.7778]
"""

from __future__ import annotations

import numpy as np


def _check(period: int, name: str = "period") -> None:
    if period < 1:
        raise ValueError(f"{name} must be >= 1, got {period}")


def sma(values: np.ndarray, period: int) -> np.ndarray:
    _check(period)
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    if len(values) >= period:
        windows = np.lib.stride_tricks.sliding_window_view(values, period)
        out[period - 1 :] = windows.mean(axis=1)
    return out


def ema(values: np.ndarray, period: int) -> np.ndarray:
    _check(period)
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    if len(values) < period:
        return out
    alpha = 2.0 / (period + 1.0)
    current = values[:period].mean()
    out[period - 1] = current
    for i in range(period, len(values)):
        current += alpha * (values[i] - current)
        out[i] = current
    return out


def ema_warmup(period: int) -> int:
    """Bars after which an EMA's seed weighs less than 1e-9 of its value."""
    alpha = 2.0 / (period + 1.0)
    return period + int(np.ceil(np.log(1e-9) / np.log(1.0 - alpha)))


def rsi(close: np.ndarray, period: int = 14) -> np.ndarray:
    _check(period)
    close = np.asarray(close, dtype=float)
    out = np.full(len(close), np.nan)
    if len(close) <= period:
        return out
    change = np.diff(close)
    gains, losses = np.clip(change, 0.0, None), np.clip(-change, 0.0, None)
    gain, loss = gains[:period].mean(), losses[:period].mean()
    out[period] = _rsi_value(gain, loss)
    for i in range(period, len(change)):
        gain = (gain * (period - 1) + gains[i]) / period
        loss = (loss * (period - 1) + losses[i]) / period
        out[i + 1] = _rsi_value(gain, loss)
    return out


def _rsi_value(gain: float, loss: float) -> float:
    if loss != 0.0:
        return 100.0 - 100.0 / (1.0 + gain / loss)
    return 100.0 if gain != 0.0 else 50.0


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    high, low, close = (np.asarray(a, dtype=float) for a in (high, low, close))
    previous = np.concatenate([[np.nan], close[:-1]])
    ranges = np.fmax(high, previous) - np.fmin(low, previous)
    if len(ranges):
        ranges[0] = high[0] - low[0]
    return ranges


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    return sma(true_range(high, low, close), period)


def bands(
    close: np.ndarray, period: int = 20, deviation: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, middle, upper)."""
    _check(period)
    close = np.asarray(close, dtype=float)
    middle = sma(close, period)
    spread = np.full(len(close), np.nan)
    if len(close) >= period:
        windows = np.lib.stride_tricks.sliding_window_view(close, period)
        spread[period - 1 :] = windows.std(axis=1) * deviation
    return middle - spread, middle, middle + spread


def macd(
    close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray]:
    """(main, signal)."""
    if not 0 < fast < slow:
        raise ValueError(f"need 0 < fast < slow, got fast={fast}, slow={slow}")
    main = ema(close, fast) - ema(close, slow)
    return main, _sma_after_nans(main, signal)


def stochastic(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    k_period: int = 5,
    d_period: int = 3,
    slowing: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """(main %K, signal %D) with MT4's "Low/High" price field and an SMA for %D."""
    for value, name in ((k_period, "k_period"), (d_period, "d_period"), (slowing, "slowing")):
        _check(value, name)
    high, low, close = (np.asarray(a, dtype=float) for a in (high, low, close))
    n = len(close)
    main = np.full(n, np.nan)
    if n >= k_period + slowing - 1:
        lowest = np.lib.stride_tricks.sliding_window_view(low, k_period).min(axis=1)
        highest = np.lib.stride_tricks.sliding_window_view(high, k_period).max(axis=1)
        above = close[k_period - 1 :] - lowest
        ranges = highest - lowest
        sum_above = np.lib.stride_tricks.sliding_window_view(above, slowing).sum(axis=1)
        sum_range = np.lib.stride_tricks.sliding_window_view(ranges, slowing).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(sum_range == 0.0, 100.0, 100.0 * sum_above / sum_range)
        main[k_period + slowing - 2 :] = values
    return main, _sma_after_nans(main, d_period)


def cci(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Commodity Channel Index over the typical price ``(high + low + close) / 3``."""
    _check(period)
    typical = (np.asarray(high, float) + np.asarray(low, float) + np.asarray(close, float)) / 3
    out = np.full(len(typical), np.nan)
    if len(typical) < period:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(typical, period)
    mean = windows.mean(axis=1)
    # The deviation is measured from the current mean, over the window that made it.
    deviation = np.abs(windows - mean[:, None]).mean(axis=1) * 0.015
    now = typical[period - 1 :] - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        out[period - 1 :] = np.where(deviation != 0.0, now / deviation, 0.0)
    return out


def wpr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Williams' Percent Range (-100..0)."""
    _check(period)
    high, low, close = (np.asarray(a, dtype=float) for a in (high, low, close))
    out = np.full(len(close), np.nan)
    if len(close) < period:
        return out
    highest = np.lib.stride_tricks.sliding_window_view(high, period).max(axis=1)
    lowest = np.lib.stride_tricks.sliding_window_view(low, period).min(axis=1)
    ranges = highest - lowest
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(ranges != 0.0, -100.0 * (highest - close[period - 1 :]) / ranges, np.nan)
    # A flat range keeps the value before it, as MT4's WPR does (0 if there is none).
    previous = 0.0
    for i, value in enumerate(values):
        previous = previous if np.isnan(value) else value
        values[i] = previous
    out[period - 1 :] = values
    return out


def ema_on_array(values: np.ndarray, period: int) -> np.ndarray:
    """MT4's ``iMAOnArray`` EMA: from the first value on, seeded with it (no SMA seed)."""
    _check(period)
    values = np.asarray(values, dtype=float)
    out = np.empty(len(values))
    alpha = 2.0 / (period + 1.0)
    current = values[0] if len(values) else 0.0
    for i, value in enumerate(values):
        current = value if i == 0 else current + alpha * (value - current)
        out[i] = current
    return out


def adx(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ADX, +DI, -DI), each 0..100."""
    _check(period)
    high, low, close = (np.asarray(a, dtype=float) for a in (high, low, close))
    n = len(close)
    if n < 2:
        empty = np.full(n, np.nan)
        return empty, empty.copy(), empty.copy()
    up = np.concatenate(([0.0], np.clip(high[1:] - high[:-1], 0.0, None)))
    down = np.concatenate(([0.0], np.clip(low[:-1] - low[1:], 0.0, None)))
    plus_dm = np.where(up > down, up, 0.0)
    minus_dm = np.where(down > up, down, 0.0)
    ranges = true_range(high, low, close)
    with np.errstate(divide="ignore", invalid="ignore"):
        plus = np.where(ranges != 0.0, 100.0 * plus_dm / ranges, 0.0)
        minus = np.where(ranges != 0.0, 100.0 * minus_dm / ranges, 0.0)
    plus[0] = minus[0] = 0.0  # the oldest bar has no move: MT4 starts both buffers at 0
    plus_di, minus_di = ema_on_array(plus, period), ema_on_array(minus, period)
    total = plus_di + minus_di
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(total != 0.0, 100.0 * np.abs(plus_di - minus_di) / total, 0.0)
    dx[0] = 0.0
    return ema_on_array(dx, period), plus_di, minus_di


def adx_warmup(period: int) -> int:
    """Bars after which ADX's seeds (two chained averages from the first bar) have faded."""
    return 2 * ema_warmup(period)


def envelopes(
    close: np.ndarray, period: int = 14, deviation_percent: float = 0.1, method: str = "sma"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, middle, upper) around an SMA (``method="sma"``) or an EMA (``"ema"``)."""
    middle = {"sma": sma, "ema": ema}[method](close, period)
    return (
        middle * (1.0 - deviation_percent / 100.0),
        middle,
        middle * (1.0 + deviation_percent / 100.0),
    )


def momentum(close: np.ndarray, period: int = 14) -> np.ndarray:
    _check(period)
    close = np.asarray(close, dtype=float)
    out = np.full(len(close), np.nan)
    if len(close) > period:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[period:] = 100.0 * close[period:] / close[:-period]
    return out


def _sma_after_nans(values: np.ndarray, period: int) -> np.ndarray:
    """SMA of a series that starts with NaNs (an indicator's own warm-up)."""
    out = np.full(len(values), np.nan)
    valid = np.flatnonzero(~np.isnan(values))
    if len(valid):
        start = valid[0]
        out[start:] = sma(values[start:], period)
    return out
