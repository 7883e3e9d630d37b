"""Stop-loss and take-profit distances at entry, placed on training rows, and their regressors."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from botcopier.bridge.simulator import MovingAverageCrossBot, random_walk_bars
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.stop_targets import (
    entry_stops,
    fit_stop_regressors,
    predict_stop,
    stops_per_row,
)

HOUR_MS = 3_600_000


def opened(t_ms, ticket, order_type="BUY", price=1.1, sl=0.0, tp=0.0, parent=None):
    return {
        "event_time_ms": t_ms,
        "action": "OPEN",
        "order_type": order_type,
        "ticket": ticket,
        "open_price": price,
        "sl": sl,
        "tp": tp,
        "parent_ticket": parent,
    }


def test_the_ma_cross_bots_constant_60_pip_stop_is_predicted_and_it_has_no_target():
    bars = list(random_walk_bars("EURUSD", start_ms=1_704_067_200_000, count=1_500, seed=4))
    bot, events = MovingAverageCrossBot("EURUSD", sl_pips=60.0), []
    for bar in bars:
        events += [
            {**a, "event_time_ms": a["close_time_ms"] or bar.end_ms} for a in bot.on_bar(bar)
        ]
    frame = pd.DataFrame([dataclasses.asdict(b) for b in bars])
    data = build_dataset(frame, events)
    decision_ms = data.time_ms.to_numpy() + HOUR_MS
    entries = entry_stops(events)
    assert len(entries) > 40
    assert entries["sl_distance"].to_numpy() == pytest.approx(0.0060, abs=1e-12)
    assert entries["tp_distance"].isna().all()
    targets = stops_per_row(entries, decision_ms, max_delay_ms=HOUR_MS)
    # Every entry past the warm-up sits on the row whose label is its open.
    entered = targets["sl_distance"].notna().to_numpy()
    assert (data.labels[entered].isin(["buy", "sell"])).all()
    assert entered.sum() == data.labels.isin(["buy", "sell"]).sum()
    x = data.features.to_numpy(float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    stops = fit_stop_regressors(data.features, targets, mean=mean, scale=scale)
    assert stops["tp_distance"] is None
    assert stops["sl_distance"]["rows"] == entered.sum()
    assert stops["sl_distance"]["rmse"] < 1e-9
    predicted = predict_stop(stops["sl_distance"], (x - mean) / scale)
    assert predicted == pytest.approx(np.full(len(x), 0.0060), abs=1e-9)
    assert json.loads(json.dumps(stops)) == stops


def test_a_stop_that_scales_with_a_feature_is_recovered():
    rng = np.random.default_rng(8)
    features = pd.DataFrame(
        {
            "atr_14": rng.uniform(0.0005, 0.003, 600),
            "rsi_14": rng.uniform(10, 90, 600),
            "hour": rng.integers(0, 24, 600).astype(float),
        }
    )
    sl = 0.001 + 1.5 * features["atr_14"]
    targets = pd.DataFrame({"sl_distance": sl, "tp_distance": 2.5 * sl})
    mean, scale = features.mean().to_numpy(), features.std(ddof=0).to_numpy()
    stops = fit_stop_regressors(features, targets, mean=mean, scale=scale)
    for name, factor in (("sl_distance", 1.0), ("tp_distance", 2.5)):
        regressor = stops[name]
        assert regressor["coefficients"][0] == pytest.approx(factor * 1.5 * scale[0], rel=1e-2)
        assert np.abs(regressor["coefficients"][1:]).max() < 1e-3 * regressor["coefficients"][0]
        fresh = np.array([[0.0004, 50.0, 3.0], [0.0025, 20.0, 17.0]])
        expected = factor * (0.001 + 1.5 * fresh[:, 0])
        assert predict_stop(regressor, (fresh - mean) / scale) == pytest.approx(expected, rel=5e-3)


def test_too_few_known_distances_give_none_not_numbers():
    rng = np.random.default_rng(1)
    features = pd.DataFrame(rng.normal(size=(50, 2)), columns=["a", "b"])
    targets = pd.DataFrame({"sl_distance": np.nan, "tp_distance": np.nan}, index=range(50))
    targets.loc[:19, "sl_distance"] = 0.003
    targets.loc[:18, "tp_distance"] = 0.009
    stops = fit_stop_regressors(features, targets, mean=np.zeros(2), scale=np.ones(2))
    assert stops["sl_distance"]["rows"] == 20 and stops["tp_distance"] is None
    # A row whose features are unusable does not count.
    features.loc[0, "a"] = np.nan
    stops = fit_stop_regressors(features, targets, mean=np.zeros(2), scale=np.ones(2))
    assert stops["sl_distance"] is None
    only_sl = fit_stop_regressors(
        features, targets[["sl_distance"]], mean=np.zeros(2), scale=np.ones(2), min_rows=5
    )
    assert only_sl["tp_distance"] is None and only_sl["sl_distance"]["rows"] == 19


def test_bad_scaler_and_targets_are_refused():
    features = pd.DataFrame(np.ones((30, 2)), columns=["a", "b"])
    targets = pd.DataFrame({"sl_distance": np.full(30, 0.002)})
    with pytest.raises(ValueError, match="one value per feature"):
        fit_stop_regressors(features, targets, mean=np.zeros(3), scale=np.ones(3))
    with pytest.raises(ValueError, match="scale must be finite and above 0"):
        fit_stop_regressors(features, targets, mean=np.zeros(2), scale=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="29 target rows for 30"):
        fit_stop_regressors(features, targets.iloc[:29], mean=np.zeros(2), scale=np.ones(2))
    with pytest.raises(ValueError, match="negative"):
        fit_stop_regressors(features, -targets, mean=np.zeros(2), scale=np.ones(2))


def test_predictions_are_never_negative():
    regressor = {"intercept": 0.001, "coefficients": [0.002]}
    assert predict_stop(regressor, np.array([[-3.0], [0.0], [1.0]])).tolist() == pytest.approx(
        [0.0, 0.001, 0.003]
    )
    assert predict_stop(regressor, np.array([2.0])).tolist() == pytest.approx([0.005])
    with pytest.raises(ValueError, match="z has 2 features, the regressor 1"):
        predict_stop(regressor, np.zeros((1, 2)))


def test_only_the_bots_own_market_entries_count():
    events = [
        opened(2 * HOUR_MS, 2, "SELL", price=1.2, sl=1.2040, tp=1.1900),
        opened(HOUR_MS, 1, "BUY", price=1.1, sl=1.0970, tp=0.0),
        opened(3 * HOUR_MS, 3, "BUY_LIMIT", price=1.0, sl=0.99),  # pending: not an entry
        opened(4 * HOUR_MS, 4, "BUY", price=1.1, sl=1.095, parent=1),  # partial remainder
        opened(5 * HOUR_MS, 5, "BUY", price=1.1),  # no levels at all
        {**opened(6 * HOUR_MS, 2, "SELL", price=1.2, sl=1.2), "action": "MODIFY"},
    ]
    entries = entry_stops(events)
    assert entries["ticket"].tolist() == [1, 2, 5]
    assert entries["event_time_ms"].tolist() == [HOUR_MS, 2 * HOUR_MS, 5 * HOUR_MS]
    assert entries["sl_distance"].tolist()[:2] == pytest.approx([0.003, 0.004])
    assert math.isnan(entries["tp_distance"][0])
    assert entries["tp_distance"][1] == pytest.approx(0.01)
    assert entries[["sl_distance", "tp_distance"]].iloc[2].isna().all()
    empty = entry_stops([])
    assert list(empty.columns) == ["event_time_ms", "ticket", "sl_distance", "tp_distance"]
    assert empty.empty


def test_an_ecn_bots_levels_set_right_after_the_open_can_count():
    events = [
        opened(HOUR_MS, 1, "BUY", price=1.1),
        {**opened(HOUR_MS + 800, 1, "BUY", price=1.1, sl=1.098, tp=1.106), "action": "MODIFY"},
        opened(2 * HOUR_MS, 2, "SELL", price=1.1),
        {**opened(2 * HOUR_MS + 9_000, 2, "SELL", price=1.1, sl=1.103), "action": "MODIFY"},
    ]
    assert entry_stops(events)[["sl_distance", "tp_distance"]].isna().all().all()
    entries = entry_stops(events, modify_within_ms=5_000)
    assert entries["sl_distance"][0] == pytest.approx(0.002)
    assert entries["tp_distance"][0] == pytest.approx(0.006)
    assert math.isnan(entries["sl_distance"][1])  # its modify came too late


def test_entries_land_on_the_row_that_decided_them():
    entries = pd.DataFrame(
        {
            "event_time_ms": [HOUR_MS + 5, 3 * HOUR_MS, 3 * HOUR_MS + 7, 5 * HOUR_MS + 2, 10],
            "ticket": [1, 2, 3, 4, 5],
            "sl_distance": [0.001, 0.002, 0.003, 0.004, 0.005],
            "tp_distance": [np.nan, 0.01, np.nan, np.nan, np.nan],
        }
    )
    decisions = np.array([HOUR_MS, 2 * HOUR_MS, 3 * HOUR_MS, 4 * HOUR_MS])
    placed = stops_per_row(entries, decisions, max_delay_ms=HOUR_MS)
    assert placed.index.tolist() == [0, 1, 2, 3]
    # Row 2 had two entries: the last counts, with its own (missing) target. The entry
    # before the first decision and the one after the last row's bar are dropped.
    assert placed["sl_distance"].tolist()[0] == 0.001
    assert math.isnan(placed["sl_distance"][1]) and placed["sl_distance"][2] == 0.003
    assert placed["tp_distance"].isna().all() and math.isnan(placed["sl_distance"][3])
    assert stops_per_row(entries, decisions)["sl_distance"][3] == 0.004  # no delay limit
    assert stops_per_row(entries, np.array([], dtype=np.int64)).empty
    with pytest.raises(ValueError, match="strictly increasing"):
        stops_per_row(entries, np.array([2, 1]))
