"""The real histories: exact counts and times, UTC timestamps, resampling, a clear error."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from botcopier.bridge.simulator import history
from botcopier.bridge.simulator.exceptions import HistoryUnavailableError
from botcopier.bridge.simulator.history import (
    bar_frame,
    dataset_bars,
    real_bar_frame,
    real_bars,
    resample_bars,
)
from tests.zoo_data import utc_ms


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_eurusd_h1_is_the_5000_bars_of_the_file():
    bars = real_bars("EURUSD", "H1")
    assert len(bars) == 5000
    assert bars[0].time_ms == utc_ms("2017-04-19 09:00")
    assert bars[-1].time_ms == utc_ms("2018-02-07 15:00")
    first = bars[0]
    assert (first.open, first.high, first.low, first.close) == (1.0716, 1.0722, 1.07083, 1.07219)
    assert first.tick_volume == 1413
    assert {b.timeframe_minutes for b in bars} == {60}
    assert {b.spread_points for b in bars} == {10}
    assert {b.symbol for b in bars} == {"EURUSD"}


def test_goog_d1_is_the_2148_trading_days_of_the_file():
    bars = real_bars("GOOG", "D1")
    assert len(bars) == 2148
    assert bars[0].time_ms == utc_ms("2004-08-19 00:00")
    assert bars[-1].time_ms == utc_ms("2013-03-01 00:00")
    assert {b.timeframe_minutes for b in bars} == {1440}
    assert all(_utc(b.time_ms).weekday() < 5 and _utc(b.time_ms).hour == 0 for b in bars)


def test_eurusd_times_are_utc_weeks_open_at_the_new_york_open():
    times = np.array([b.time_ms for b in real_bars("EURUSD")])
    gaps = np.flatnonzero(np.diff(times) > 3 * 3_600_000)
    opens = [_utc(int(times[i + 1])) for i in gaps]
    closes = [_utc(int(times[i])) for i in gaps]
    assert len(opens) >= 40
    # 17:00 New York: 21:00 UTC under US summer time, 22:00 UTC in winter; on Sunday, or on
    # the Monday of Christmas and New Year's Day 2017/18, when the market stayed shut.
    assert {t.hour for t in opens} == {21, 22}
    holidays = {t.date().isoformat() for t in opens if t.weekday() != 6}
    assert holidays == {"2017-12-25", "2018-01-01"}
    # The week's last H1 bar opens an hour before that time of day, on a Friday.
    assert {(t.weekday(), t.hour) for t in closes} == {(4, 20), (4, 21)}


def test_prices_are_consistent_bars():
    for name in history.DATASETS:
        for b in dataset_bars(name):
            assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high


def test_h4_bars_aggregate_their_h1_bars_on_utc_4_hour_buckets():
    h1 = real_bar_frame("EURUSD", "H1")
    h4 = real_bar_frame("EURUSD", "H4")
    bucket = h1["time_ms"] - h1["time_ms"] % (4 * 3_600_000)
    expected = h1.groupby(bucket).agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last")
    )
    assert len(h4) == len(expected) == 1292
    assert (h4["time_ms"].to_numpy() == expected.index.to_numpy()).all()
    for column in ("open", "high", "low", "close"):
        assert (h4[column].to_numpy() == expected[column].to_numpy()).all()
    assert set(h4["timeframe_minutes"]) == {240}


def test_the_frame_has_the_trainers_columns_and_one_row_per_bar():
    frame = real_bar_frame("EURUSD")
    for column in ("time_ms", "timeframe_minutes", "open", "high", "low", "close"):
        assert column in frame.columns
    assert "spread_points" in frame.columns
    assert frame.equals(bar_frame(real_bars("EURUSD")))
    assert pd.api.types.is_integer_dtype(frame["time_ms"])


def test_each_call_gets_its_own_list():
    bars = real_bars("EURUSD")
    bars.clear()
    assert len(real_bars("EURUSD")) == 5000


def test_shorter_timeframes_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="cannot make"):
        real_bars("GOOG", "H1")
    with pytest.raises(ValueError, match="no real history"):
        real_bars("XAUUSD")
    with pytest.raises(ValueError, match="unknown timeframe"):
        real_bars("EURUSD", "H2x")
    with pytest.raises(ValueError, match="unknown dataset"):
        dataset_bars("EURUSD_M1")


def test_resampling_refuses_buckets_that_do_not_divide():
    with pytest.raises(ValueError, match="cannot make"):
        resample_bars(real_bars("EURUSD")[:3], 90)


def test_a_missing_package_is_named(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "backtesting" else real_find_spec(name, *a),
    )
    with pytest.raises(HistoryUnavailableError, match="'backtesting'.*pip install"):
        history.history_folder()
