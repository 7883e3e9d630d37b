"""The zoo's chart: shift 1 is the bar that just closed, and no value looks ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from botcopier.bridge.simulator.history import real_bars
from botcopier.bridge.simulator.zoo import Chart, ChartError
from botcopier.trainers import indicators

BARS = real_bars("EURUSD", "H1")[:600]
# Every reading the zoo takes, as (name, call).
READINGS = [
    ("close", lambda c, s: c.close(s)),
    ("high", lambda c, s: c.high(s)),
    ("sma 200", lambda c, s: c.ma(200, s)),
    ("ema 21", lambda c, s: c.ma(21, s, "ema")),
    ("rsi 7", lambda c, s: c.rsi(7, s)),
    ("atr 14", lambda c, s: c.atr(14, s)),
    ("bands 20/2", lambda c, s: c.bands(20, 2.0, s)),
    ("macd", lambda c, s: c.macd(12, 26, 9, s)),
    ("stochastic 14,3,3", lambda c, s: c.stochastic(14, 3, 3, s)),
    ("cci 20", lambda c, s: c.cci(20, s)),
    ("wpr 14", lambda c, s: c.wpr(14, s)),
    ("adx 14", lambda c, s: c.adx(14, s)),
    ("envelopes 14/0.1", lambda c, s: c.envelopes(14, 0.1, s)),
    ("momentum 14", lambda c, s: c.momentum(14, s)),
    ("highest 8", lambda c, s: c.highest(8, s)),
]


@pytest.mark.parametrize(("name", "read"), READINGS, ids=[n for n, _ in READINGS])
def test_values_at_a_bar_do_not_depend_on_the_bars_after_it(name, read):
    whole = Chart(BARS)
    for end in (250, 401, 599):
        prefix = Chart(BARS[: end + 1])
        whole.seek(BARS[end])
        prefix.seek(BARS[end])
        for shift in (1, 2):
            a, b = np.atleast_1d(read(whole, shift)), np.atleast_1d(read(prefix, shift))
            assert np.array_equal(a, b, equal_nan=True), f"{name} at {end}, shift {shift}"


def test_shift_1_is_the_bar_just_closed_and_matches_the_indicator_arrays():
    chart = Chart(BARS)
    chart.seek(BARS[300])
    close = np.array([b.close for b in BARS])
    assert chart.close(1) == BARS[300].close and chart.close(2) == BARS[299].close
    assert chart.rsi(14, 1) == indicators.rsi(close, 14)[300]
    assert chart.rsi(14, 2) == indicators.rsi(close, 14)[299]
    assert chart.highest(3, 1) == max(b.high for b in BARS[298:301])
    assert chart.time_ms(1) == BARS[300].time_ms and chart.time_ms(0) == BARS[301].time_ms


def test_time_0_after_a_weekend_is_the_weeks_first_bar():
    gap = next(i for i in range(len(BARS) - 1) if BARS[i + 1].time_ms - BARS[i].end_ms > 0)
    chart = Chart(BARS)
    chart.seek(BARS[gap])
    assert chart.time_ms(0) == BARS[gap + 1].time_ms != BARS[gap].end_ms
    chart.seek(BARS[-1])
    assert chart.time_ms(0) == BARS[-1].end_ms  # nothing after the last bar: its close


def test_history_too_short_gives_nan_and_bad_reads_are_refused():
    chart = Chart(BARS)
    chart.seek(BARS[5])
    assert math.isnan(chart.ma(20, 1)) and math.isnan(chart.close(7))
    with pytest.raises(ChartError, match="shift"):
        chart.close(0)
    with pytest.raises(ChartError, match="no bar"):
        chart.seek(real_bars("EURUSD")[700])
    with pytest.raises(ChartError, match="seek"):
        Chart(BARS).close(1)
