"""Batch clones of the simulator's bots: their scores, their documents, their limits."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from botcopier.trainers.batch import TrainOptions, train_clone
from botcopier.trainers.dataset import Dataset, NotEnoughDataError, build_dataset
from botcopier.trainers.model_document import (
    ModelFormatError,
    load_model,
    parse_model,
    save_model,
)
from botcopier.trainers.model_eval import decide, predict_proba
from botcopier.trainers.scores import describe
from tests.clone_data import simulated_bots

BOT = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}


def dataset_of(name: str, count: int = 6_000) -> Dataset:
    bars, events = simulated_bots(count)
    return build_dataset(bars, events[name])


@pytest.mark.parametrize("bot", ["ma-cross", "rsi-reversion", "breakout"])
def test_a_lightgbm_clone_does_what_each_bot_did_on_the_last_30_percent(bot):
    data = dataset_of(bot)
    result = train_clone(data, BOT, bot, TrainOptions(family="lightgbm"))
    print(f"\n{bot}: " + "\n".join(describe(result.test)))
    test = result.test
    assert test["rows"] == round(len(data) * 0.3)
    entries = test["per_class"]["buy"]["support"] + test["per_class"]["sell"]["support"]
    assert entries >= 30, "too few entries in the test window to judge the clone"
    assert test["entry_macro_f1"] >= 0.95
    assert test["bar_agreement"] >= 0.99
    # The document's own training record says where the test window starts.
    assert result.document["training"]["until_ms"] < data.time_ms.iloc[-test["rows"]]


def test_a_linear_model_cannot_express_a_flat_only_rule_and_the_scores_say_so():
    """Logistic regression clones the MA cross, but the RSI bot's "flat and RSI < 30" is an
    AND of two conditions: the honest test scores show it instead of hiding it."""
    cross = train_clone(dataset_of("ma-cross"), BOT, "ma", TrainOptions(family="linear"))
    assert cross.test["entry_macro_f1"] >= 0.95
    rsi = train_clone(dataset_of("rsi-reversion"), BOT, "rsi", TrainOptions(family="linear"))
    assert rsi.test["entry_macro_f1"] < 0.95


def test_the_linear_document_predicts_what_scikit_learn_predicts():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(900, 3)) * [1.0, 5.0, 0.1] + [0.0, 50.0, 1.0]
    labels = np.select([x[:, 0] > 0.8, x[:, 0] < -0.8], ["buy", "sell"], "none")
    data = Dataset(pd.DataFrame(x, columns=["ret_1", "rsi_14", "atr_ratio_14"]),
                   pd.Series(labels), pd.Series(np.arange(900) * 60_000))  # fmt: skip
    options = TrainOptions(family="linear", class_weight=False, validation=0.0, test=0.1)
    doc = train_clone(data, BOT, "lin", options).document
    train_rows = 900 - 90
    z = (x - x[:train_rows].mean(axis=0)) / x[:train_rows].std(axis=0)
    reference = LogisticRegression(max_iter=2_000).fit(z[:train_rows], labels[:train_rows])
    order = [list(reference.classes_).index(c) for c in doc["classes"]]
    expected = reference.predict_proba(z)[:, order]
    np.testing.assert_allclose(predict_proba(doc, x), expected, atol=1e-9)


def test_the_lightgbm_dump_predicts_what_the_booster_predicts():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2_000, 4))
    x[rng.random(x.shape) < 0.05] = np.nan  # missing values follow default_left
    x[:, 3] = np.where(rng.random(2_000) < 0.3, 0.0, x[:, 3])
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) > 0).astype(int) + (x[:, 2] > 1.5)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_leaves": 7},
        lgb.Dataset(x, label=y),
        40,
    )
    estimator = {"family": "lightgbm", "num_class": 3, "dump": booster.dump_model()}
    doc = {"scaler": {"mean": [0.0] * 4, "scale": [1.0] * 4}, "estimator": estimator}
    np.testing.assert_allclose(predict_proba(doc, x), booster.predict(x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("family", ["linear", "lightgbm", "xgboost", "catboost"])
def test_a_saved_model_loads_back_and_predicts_identically(tmp_path, family):
    data = dataset_of("breakout")
    doc = train_clone(data, BOT, "breakout", TrainOptions(family=family, rounds=60)).document
    path = save_model(doc, tmp_path / "clone.json")
    loaded = load_model(path)
    assert loaded == json.loads(json.dumps(doc))
    x = data.features[[f["name"] for f in doc["features"]]].to_numpy(float)
    assert np.array_equal(predict_proba(loaded, x), predict_proba(doc, x))
    assert decide(loaded, predict_proba(loaded, x)) == decide(doc, predict_proba(doc, x))
    assert set(doc["feature_distributions"]) == {f["name"] for f in doc["features"]}
    assert not list(tmp_path.glob(".clone.json.*")), "temporary file left behind"


def test_bad_model_files_are_refused_with_the_reason(tmp_path):
    doc = train_clone(dataset_of("ma-cross"), BOT, "ma", TrainOptions(rounds=20)).document
    with pytest.raises(ModelFormatError, match="not JSON"):
        parse_model(b'{"format": "botcopier.model", ', "truncated.json")
    with pytest.raises(ModelFormatError, match="format_version 7 is not one"):
        parse_model(json.dumps({**doc, "format_version": 7}))
    with pytest.raises(ModelFormatError, match="scaler.mean has"):
        parse_model(json.dumps({**doc, "scaler": {**doc["scaler"], "mean": [0.0]}}))
    with pytest.raises(ModelFormatError, match="estimator"):
        parse_model(json.dumps({**doc, "estimator": {"family": "pickle", "blob": "gASV"}}))
    with pytest.raises(ModelFormatError, match="cannot read"):
        load_model(tmp_path / "missing.json")


def test_too_little_data_or_no_decisions_fail_clearly_instead_of_making_a_model():
    bars, events = simulated_bots(6_000)
    with pytest.raises(NotEnoughDataError, match="usable bars"):
        build_dataset(bars.iloc[:400], events["ma-cross"])
    idle = build_dataset(bars.iloc[:1_000], [])
    with pytest.raises(NotEnoughDataError, match="made no decision"):
        train_clone(idle, BOT, "idle")


def test_pruning_drops_noise_features_refits_and_warns_when_most_go():
    data = dataset_of("ma-cross")
    options = TrainOptions(family="lightgbm", prune_threshold=0.02, prune_warn=0.3, rounds=80)
    result = train_clone(data, BOT, "ma", options)
    kept = [f["name"] for f in result.document["features"]]
    assert "sma_cross_5_20" in kept
    assert result.document["training"]["pruned"]
    assert set(kept).isdisjoint(result.document["training"]["pruned"])
    assert any("pruning drops" in w for w in result.warnings)
    assert result.test["entry_macro_f1"] >= 0.95


@pytest.mark.parametrize("family", ["linear", "lightgbm"])
def test_incremental_training_continues_the_stored_model(family):
    bars, events = simulated_bots(6_000)
    first = build_dataset(bars.iloc[:3_000], events["ma-cross"])
    later = build_dataset(bars.iloc[2_500:], events["ma-cross"])
    options = TrainOptions(family=family, rounds=60)
    base = train_clone(first, BOT, "ma", options).document
    more = train_clone(later, BOT, "ma", options, previous=base).document
    assert more["training"]["incremental_of"] == base["version"]
    assert more["scaler"] == base["scaler"]
    if family == "lightgbm":
        trees = more["estimator"]["dump"]["tree_info"]
        assert trees[: len(base["estimator"]["dump"]["tree_info"])] == [
            {**t, "tree_index": i} for i, t in enumerate(base["estimator"]["dump"]["tree_info"])
        ]
    else:
        assert more["estimator"]["coefficients"] != base["estimator"]["coefficients"]
    assert more["metrics"]["test"]["entry_macro_f1"] >= 0.9
    other = later.features.drop(columns=["ret_1"])
    with pytest.raises(ModelFormatError, match="features"):
        train_clone(Dataset(other, later.labels, later.time_ms), BOT, "ma", options, previous=base)
