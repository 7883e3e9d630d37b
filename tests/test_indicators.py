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
