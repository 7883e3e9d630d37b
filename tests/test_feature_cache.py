"""The feature cache: hits reuse the table, any change misses, a corrupt file is recomputed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from botcopier.trainers import feature_cache
from botcopier.trainers.dataset import build_dataset
from botcopier.trainers.feature_cache import cached_dataset, dataset_key
from botcopier.trainers.features import DEFAULT_FEATURES, FEATURES
from tests.clone_data import simulated_bots


@pytest.fixture(scope="module")
def history():
    bars, events = simulated_bots(2_000)
    return bars, events["ma-cross"]


def assert_same_table(got, expected):
    pd.testing.assert_frame_equal(got.features, expected.features)
    pd.testing.assert_series_equal(got.labels, expected.labels)
    pd.testing.assert_series_equal(got.time_ms, expected.time_ms)


def build(history, folder, features=DEFAULT_FEATURES, **kwargs):
    said: list[str] = []
    bars, events = history
    data = cached_dataset(bars, events, features, cache_dir=folder, progress=said.append, **kwargs)
    return data, said


def test_a_second_build_of_the_same_history_is_a_hit_equal_to_build_dataset(
    history, tmp_path, monkeypatch
):
    first, said = build(history, tmp_path)
    assert said[0].startswith("feature cache miss")
    assert_same_table(first, build_dataset(*history))
    [stored] = tmp_path.glob("*.npz")

    def must_not_compute(*args, **kwargs):
        raise AssertionError("a hit must not compute the table")

    monkeypatch.setattr(feature_cache, "build_dataset", must_not_compute)
    again, said = build(history, tmp_path)
    assert said == [f"feature cache hit: {stored.name} ({len(first)} rows)"]
    assert_same_table(again, first)


def test_a_changed_feature_spec_misses(history, tmp_path):
    build(history, tmp_path)
    fewer = tuple(f for f in DEFAULT_FEATURES if f.name != "rsi_14")
    data, said = build(history, tmp_path, fewer)
    assert said[0].startswith("feature cache miss")
    assert "rsi_14" not in data.features.columns
    # Same names, another MQL4 expression or warm-up: another feature, another key.
    bars, events = history
    for change in ({"mql4": "iRSI(NULL,0,14,PRICE_OPEN,1)"}, {"warmup": 300}):
        changed = tuple(
            dataclasses.replace(f, **change) if f.name == "rsi_14" else f for f in DEFAULT_FEATURES
        )
        assert dataset_key(bars, events, changed) != dataset_key(bars, events, DEFAULT_FEATURES)
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_changed_bars_or_events_miss(history, tmp_path):
    bars, events = history
    build(history, tmp_path)
    moved = bars.copy()
    moved.loc[1_500, "close"] += 0.0001
    data, said = build((moved, events), tmp_path)
    assert said[0].startswith("feature cache miss")
    assert_same_table(data, build_dataset(moved, events))
    _, said = build((bars, events[:-2]), tmp_path)
    assert said[0].startswith("feature cache miss")
    # Row order is not content: bars arriving shuffled are the same history.
    shuffled = bars.sample(frac=1.0, random_state=1)
    assert dataset_key(shuffled, events) == dataset_key(bars, events)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other key", "wrong shape"])
def test_a_corrupt_cache_file_is_reported_deleted_and_recomputed(history, tmp_path, damage):
    expected, _ = build(history, tmp_path)
    [path] = tmp_path.glob("*.npz")
    if damage == "garbage":
        path.write_bytes(b"not a numpy archive at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5_000])
    else:
        with np.load(path) as stored:
            arrays = dict(stored)
        if damage == "other key":
            arrays["key"] = np.array("0" * 64)
        else:
            arrays["labels"] = arrays["labels"][:-1]
        with path.open("wb") as out:
            np.savez(out, **arrays)
    data, said = build(history, tmp_path)
    assert said[0].startswith(f"feature cache file {path} is corrupt (")
    assert said[0].endswith("deleted, recomputing")
    assert said[1].startswith("feature cache miss")
    assert_same_table(data, expected)
    _, said = build(history, tmp_path)
    assert said[0].startswith("feature cache hit")


def test_only_the_newest_files_are_kept(history, tmp_path):
    bars, events = history
    for n in range(3):
        subset = (FEATURES["ret_1"], FEATURES["rsi_14"], FEATURES["position"])[: n + 1]
        cached_dataset(bars, events, subset, cache_dir=tmp_path, max_files=2)
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_botcopier_train_cache_features_reuses_the_table_on_the_second_run(
    history, tmp_path, monkeypatch, capsys
):
    from botcopier.cli import main

    bars, events = history
    columns = {"time_ms": "time", "spread_points": "spread", "timeframe_minutes": "timeframe"}
    bars.rename(columns=columns)[
        ["time", "open", "high", "low", "close", "spread", "symbol", "timeframe"]
    ].to_csv(tmp_path / "bars.csv", index=False)
    pd.DataFrame(events).assign(magic=1001).to_json(
        tmp_path / "events.jsonl", orient="records", lines=True
    )
    monkeypatch.setenv("BOTCOPIER_PATHS__STATE_DIR", str(tmp_path / "state"))
    files = ["--bars", str(tmp_path / "bars.csv"), "--events", str(tmp_path / "events.jsonl")]
    args = [
        "train",
        *files,
        "--magic",
        "1001",
        "--out",
        str(tmp_path / "models"),
        "--cache-features",
    ]
    assert main(args) == 0
    assert "feature cache miss" in capsys.readouterr().out
    assert main(args) == 0
    assert "feature cache hit" in capsys.readouterr().out
    assert len(list((tmp_path / "state" / "feature-cache").glob("*.npz"))) == 1
