"""The indicators against the MT4 definitions, written out bar by bar as MT4 indexes them.

The references below walk the chart the way the terminal's indicator sources do: index 0 is
the newest bar, a value at shift ``s`` reads bars ``s .. s + period - 1``. They share no code
with `botcopier.trainers.indicators`, which works oldest-first on whole arrays.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from botcopier.bridge.simulator import WilderRsi, random_walk_bars
from botcopier.trainers import indicators as ind


@pytest.fixture(scope="module")
def bars():
    walk = list(random_walk_bars("EURUSD", start_ms=1_704_067_200_000, count=600, seed=12))
    return {
        "high": np.array([b.high for b in walk]),
        "low": np.array([b.low for b in walk]),
        "close": np.array([b.close for b in walk]),
    }


def series(values: np.ndarray) -> list[float]:
    """MT4's order: index 0 is the newest bar."""
    return list(values[::-1])


def mt4_sma(s: list[float], period: int, shift: int) -> float:
    return sum(s[shift : shift + period]) / period


def mt4_stddev(s: list[float], period: int, shift: int) -> float:
    mean = mt4_sma(s, period, shift)
    return math.sqrt(sum((s[shift + j] - mean) ** 2 for j in range(period)) / period)


def mt4_ema(s: list[float], period: int) -> list[float]:
    """Newest first; computed from the oldest bar forward, seeded with the oldest SMA."""
    oldest_first = s[::-1]
    out = [math.nan] * len(s)
    value = sum(oldest_first[:period]) / period
    out[period - 1] = value
    for i in range(period, len(s)):
        value = value + 2.0 / (period + 1) * (oldest_first[i] - value)
        out[i] = value
    return out[::-1]


def compare(ours: np.ndarray, reference: list[float], warmup: int, rel: float = 1e-9) -> None:
    reference_oldest_first = np.array(reference[::-1])
    assert np.isnan(ours[: warmup - 1]).all() if warmup > 1 else True
    np.testing.assert_allclose(ours[warmup:], reference_oldest_first[warmup:], rtol=rel)


def test_sma_and_bands_match_the_mt4_definitions(bars):
    close = series(bars["close"])
    n, period = len(close), 20
    lower, middle, upper = ind.bands(bars["close"], period, 2.0)
    ref_mid = [mt4_sma(close, period, s) if s + period <= n else math.nan for s in range(n)]
    ref_dev = [mt4_stddev(close, period, s) if s + period <= n else math.nan for s in range(n)]
    compare(middle, ref_mid, period)
    compare(upper, [m + 2 * d for m, d in zip(ref_mid, ref_dev, strict=True)], period)
    compare(lower, [m - 2 * d for m, d in zip(ref_mid, ref_dev, strict=True)], period)
    np.testing.assert_allclose(ind.sma(bars["close"], period), middle, equal_nan=True)


def test_ema_and_macd_match_and_the_seed_fades(bars):
    close = series(bars["close"])
    compare(ind.ema(bars["close"], 12), mt4_ema(close, 12), 12)
    main, signal = ind.macd(bars["close"], 12, 26, 9)
    ref_main = [f - s for f, s in zip(mt4_ema(close, 12), mt4_ema(close, 26), strict=True)]
    compare(main, ref_main, 26)
    n = len(close)
    ref_signal = [mt4_sma(ref_main, 9, s) if s + 9 <= n - 25 else math.nan for s in range(n)]
    compare(signal, ref_signal, 26 + 8)
    # A chart with more history seeds elsewhere: after the warm-up the values agree anyway.
    later = ind.ema(bars["close"][100:], 12)
    warm = ind.ema_warmup(12)
    np.testing.assert_allclose(later[warm:], ind.ema(bars["close"], 12)[100 + warm :], rtol=1e-9)


def test_rsi_matches_wilder_bar_by_bar(bars):
    streaming = WilderRsi(14)
    reference = [streaming.update(c) for c in bars["close"]]
    ours = ind.rsi(bars["close"], 14)
    assert np.isnan(ours[:14]).all() and reference[13] is None
    np.testing.assert_allclose(ours[14:], reference[14:], rtol=1e-9)


def test_rsi_edge_cases_follow_mt4():
    assert ind.rsi(np.array([1.0] * 5), 3)[-1] == 50.0  # no gains, no losses
    assert ind.rsi(np.array([1.0, 2.0, 3.0, 4.0]), 3)[-1] == 100.0  # no losses


def test_atr_is_a_simple_mean_of_the_true_range(bars):
    high, low, close = series(bars["high"]), series(bars["low"]), series(bars["close"])
    n = len(close)
    true_range = [
        max(high[s], close[s + 1]) - min(low[s], close[s + 1]) if s + 1 < n else high[s] - low[s]
        for s in range(n)
    ]
    reference = [mt4_sma(true_range, 14, s) if s + 14 <= n else math.nan for s in range(n)]
    compare(ind.atr(bars["high"], bars["low"], bars["close"], 14), reference, 14)


def test_stochastic_with_slowing_matches(bars):
    high, low, close = series(bars["high"]), series(bars["low"]), series(bars["close"])
    n, k, d, slowing = len(close), 5, 3, 3

    def main_at(s: int) -> float:
        above = total = 0.0
        for j in range(s, s + slowing):
            lowest, highest = min(low[j : j + k]), max(high[j : j + k])
            above += close[j] - lowest
            total += highest - lowest
        return 100.0 if total == 0 else 100.0 * above / total

    ref_main = [main_at(s) if s + k + slowing - 1 <= n else math.nan for s in range(n)]
    ref_signal = [mt4_sma(ref_main, d, s) if s + d + k + slowing - 2 <= n else math.nan
                  for s in range(n)]  # fmt: skip
    main, signal = ind.stochastic(bars["high"], bars["low"], bars["close"], k, d, slowing)
    compare(main, ref_main, k + slowing - 1)
    compare(signal, ref_signal, k + slowing + d - 2)


def test_hand_computed_values():
    high = np.array([1.2, 1.3, 1.25, 1.4])
    low = np.array([1.0, 1.1, 1.05, 1.2])
    close = np.array([1.1, 1.2, 1.1, 1.3])
    # True ranges: 0.2; max(1.3,1.1)-min(1.1,1.1)=0.2; max(1.25,1.2)-min(1.05,1.2)=0.2;
    # max(1.4,1.1)-min(1.2,1.1)=0.3.
    np.testing.assert_allclose(ind.true_range(high, low, close), [0.2, 0.2, 0.2, 0.3])
    assert ind.atr(high, low, close, 2)[-1] == pytest.approx(0.25)
    # %K(2, slowing 1) at the last bar: lowest low 1.05, highest high 1.4 -> 0.25 / 0.35.
    main, _ = ind.stochastic(high, low, close, 2, 1, 1)
    assert main[-1] == pytest.approx(100 * 0.25 / 0.35)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ind.sma(np.ones(3), 0),
        lambda: ind.macd(np.ones(50), 26, 12),
        lambda: ind.stochastic(np.ones(9), np.ones(9), np.ones(9), 5, 0, 3),
    ],
)
def test_bad_periods_are_refused(call):
    with pytest.raises(ValueError, match="must be|need"):
        call()


def test_short_input_is_all_nan():
    assert np.isnan(ind.rsi(np.ones(3), 14)).all()
    assert np.isnan(ind.macd(np.ones(10))[0]).all()


def test_cci_matches_the_mt4_definition(bars):
    high, low, close = series(bars["high"]), series(bars["low"]), series(bars["close"])
    n, period = len(close), 14
    typical = [(high[s] + low[s] + close[s]) / 3.0 for s in range(n)]

    def cci_at(s: int) -> float:
        mean = mt4_sma(typical, period, s)
        deviation = sum(abs(typical[s + j] - mean) for j in range(period)) * 0.015 / period
        return 0.0 if deviation == 0 else (typical[s] - mean) / deviation

    reference = [cci_at(s) if s + period <= n else math.nan for s in range(n)]
    compare(ind.cci(bars["high"], bars["low"], bars["close"], period), reference, period)


def test_wpr_matches_and_a_flat_range_repeats_the_value_before():
    high = np.array([1.2, 1.3, 1.25, 1.3, 1.3, 1.3, 1.3])
    low = np.array([1.0, 1.1, 1.05, 1.3, 1.3, 1.3, 1.3])
    close = np.array([1.1, 1.2, 1.1, 1.3, 1.3, 1.3, 1.3])
    got = ind.wpr(high, low, close, 2)
    # Newest first, as MT4 walks it: shift s reads bars s and s + 1.
    h, lo, c = series(high), series(low), series(close)
    reference = []
    for s in range(len(c) - 1):
        top, bottom = max(h[s : s + 2]), min(lo[s : s + 2])
        reference.append(-100.0 * (top - c[s]) / (top - bottom) if top != bottom else None)
    oldest_first = reference[::-1]
    previous = 0.0
    for i, value in enumerate(oldest_first, start=1):
        previous = previous if value is None else value
        assert got[i] == pytest.approx(previous, abs=1e-12)
    assert np.isnan(got[0])
    assert got[-1] == got[-2] == got[3]  # the flat bars carry the last real value


def mt4_ema_on_array(s: list[float], period: int) -> list[float]:
    """iMAOnArray(..., MODE_EMA): newest first, from the oldest value, seeded with it."""
    out = [0.0] * len(s)
    for i in range(len(s) - 1, -1, -1):
        out[i] = s[i] if i == len(s) - 1 else out[i + 1] + 2.0 / (period + 1) * (s[i] - out[i + 1])
    return out


def test_adx_follows_the_mt4_source_bar_by_bar(bars):
    high, low, close = series(bars["high"]), series(bars["low"]), series(bars["close"])
    n, period = len(close), 14
    plus_sdi, minus_sdi = [0.0] * n, [0.0] * n
    for i in range(n - 2, -1, -1):
        pdm, mdm = max(high[i] - high[i + 1], 0.0), max(low[i + 1] - low[i], 0.0)
        if pdm == mdm:
            pdm = mdm = 0.0
        elif pdm < mdm:
            pdm = 0.0
        else:
            mdm = 0.0
        tr = max(abs(high[i] - low[i]), abs(high[i] - close[i + 1]), abs(low[i] - close[i + 1]))
        plus_sdi[i] = 0.0 if tr == 0 else 100.0 * pdm / tr
        minus_sdi[i] = 0.0 if tr == 0 else 100.0 * mdm / tr
    plus_di, minus_di = mt4_ema_on_array(plus_sdi, period), mt4_ema_on_array(minus_sdi, period)
    dx = [0.0 if p + m == 0 else 100.0 * abs(p - m) / (p + m) for p, m in zip(plus_di, minus_di)]
    dx[n - 1] = 0.0
    reference = mt4_ema_on_array(dx, period)
    ours = ind.adx(bars["high"], bars["low"], bars["close"], period)
    for got, want in zip(ours, (reference, plus_di, minus_di)):
        np.testing.assert_allclose(got, np.array(want[::-1]), rtol=1e-9, atol=1e-12)
    assert ind.adx_warmup(period) < n


def test_envelopes_and_momentum(bars):
    close = series(bars["close"])
    n = len(close)
    lower, middle, upper = ind.envelopes(bars["close"], 14, 0.1)
    reference = [mt4_sma(close, 14, s) if s + 14 <= n else math.nan for s in range(n)]
    compare(middle, reference, 14)
    compare(upper, [v * 1.001 for v in reference], 14)
    compare(lower, [v * 0.999 for v in reference], 14)
    momentum = [100.0 * close[s] / close[s + 14] if s + 14 < n else math.nan for s in range(n)]
    compare(ind.momentum(bars["close"], 14), momentum, 15)
