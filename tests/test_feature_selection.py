"""Feature selection keeps what the bot's decisions turn on, chosen on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from botcopier.trainers.batch import TrainOptions
from botcopier.trainers.dataset import Dataset
from botcopier.trainers.feature_selection import select_features, with_selected_features


def _table(rows: int = 3_000, seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(rows, 30)), columns=[f"noise_{i}" for i in range(30)])
    x["rsi_like"] = rng.uniform(0, 100, rows)
    x["position"] = rng.choice([-1.0, 0.0, 1.0], rows)
    flat = x["position"] == 0
    labels = np.where(flat & (x["rsi_like"] < 20), "buy", "none")
    labels = np.where(flat & (x["rsi_like"] > 80), "sell", labels)
    return x, pd.Series(labels)


def test_the_rule_inputs_are_kept_and_the_noise_mostly_dropped():
    x, labels = _table()
    kept = select_features(x, labels, most=10)
    assert "rsi_like" in kept and "position" in kept
    assert len(kept) <= 11
    assert kept == [c for c in x.columns if c in kept]  # the table's own order


def test_position_is_kept_even_when_it_carries_no_gain():
    x, labels = _table()
    x["position"] = 0.0  # a bot that never held anything in these rows
    assert "position" in select_features(x, labels, most=3)


def test_selection_sees_the_training_rows_only():
    x, labels = _table(rows=4_000)
    rows = len(x)
    # A column that decides the labels only in the last 30% (the test rows): invisible.
    leak = np.zeros(rows)
    test_start = rows - round(rows * 0.3)
    leak[test_start:] = (labels[test_start:] != "none").astype(float) * 5.0
    x["leak"] = leak
    data = Dataset(x, labels, pd.Series(np.arange(rows) * 3_600_000))
    chosen = with_selected_features(data, TrainOptions(select_most=8))
    assert "leak" not in chosen.features.columns
    assert "rsi_like" in chosen.features.columns
    assert len(chosen) == rows


def test_no_selection_when_asked_for_none_or_already_small():
    x, labels = _table()
    data = Dataset(x, labels, pd.Series(np.arange(len(x))))
    assert with_selected_features(data, TrainOptions(select_most=None)) is data
    assert with_selected_features(data, TrainOptions(select_most=len(x.columns))) is data
