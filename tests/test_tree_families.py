"""The optional XGBoost and CatBoost families: exact in model.json's layout, or a fallback."""

from __future__ import annotations

import numpy as np
import pytest

from botcopier.trainers import batch, catboost_family, xgboost_family
from botcopier.trainers.batch import TrainOptions, installed_family, train_clone
from botcopier.trainers.model_document import ModelFormatError, dumps_model, parse_model
from botcopier.trainers.model_eval import predict_proba
from botcopier.trainers.tree_layout import (
    TreeConversionError,
    check_conversion,
    float32_at_most,
    float32_below,
)
from tests.test_batch_training import BOT, dataset_of


def _neighbours(value: float, steps: int = 3) -> list[float]:
    """Doubles around ``value``: a few ulps and the float32 rounding boundaries near it."""
    out, low, high = [value], value, value
    for _ in range(steps):
        low, high = np.nextafter(low, -np.inf), np.nextafter(high, np.inf)
        out += [float(low), float(high)]
    t = np.float32(value)
    for near in (np.nextafter(t, np.float32(-np.inf)), t, np.nextafter(t, np.float32(np.inf))):
        for other in (
            np.nextafter(near, np.float32(-np.inf)),
            np.nextafter(near, np.float32(np.inf)),
        ):
            midpoint = (float(near) + float(other)) / 2
            out += [
                midpoint,
                float(np.nextafter(midpoint, -np.inf)),
                float(np.nextafter(midpoint, np.inf)),
            ]
    return out  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_double_thresholds_send_every_double_where_the_float32_test_does(seed):
    rng = np.random.default_rng(seed)
    thresholds = np.concatenate([rng.normal(0, 50, 300), rng.integers(-5, 100, 50), [0.1, 30.0]])
    for t in thresholds.astype(np.float32):
        at_most, below = float32_at_most(float(t)), float32_below(float(t))
        for x in _neighbours(float(t)):
            assert (np.float32(x) <= t) == (x <= at_most), (t, x)
            assert (np.float32(x) < t) == (x <= below), (t, x)


def _quantised_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    # Feature values as bots see them: two-decimal RSI, whole hours, prices on a 1e-5 grid,
    # so many rows sit exactly on the libraries' split values.
    return np.column_stack([
        np.round(rng.uniform(0, 100, count), 2),
        rng.integers(0, 24, count).astype(float),
        np.round(1.1 + rng.normal(0, 0.01, count), 5),
    ])  # fmt: skip


def _labels(x: np.ndarray) -> np.ndarray:
    buy = (x[:, 0] < 30) & (x[:, 1] >= 8)
    sell = (x[:, 0] > 70) & (x[:, 2] > 1.1)
    return np.select([buy, sell], [1, 2], 0)


FITS = {"xgboost": xgboost_family.fit_xgboost, "catboost": catboost_family.fit_catboost}


@pytest.mark.parametrize("family", sorted(FITS))
def test_the_document_predicts_what_the_library_predicts_on_unseen_rows(family):
    rng = np.random.default_rng(5)
    x, x_new = _quantised_rows(rng, 3_000), _quantised_rows(rng, 2_000)
    fit = FITS[family](x, _labels(x), 3, np.ones(len(x)), rounds=60)
    doc = {"scaler": {"mean": [0.0] * 3, "scale": [1.0] * 3}, "estimator": fit.estimator}
    ours = predict_proba(doc, x_new)
    if family == "xgboost":
        import xgboost as xgb

        theirs = fit.library_model.predict(xgb.DMatrix(x_new))
    else:
        theirs = fit.library_model.predict_proba(x_new)
    assert np.max(np.abs(ours - theirs)) < 1e-5
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()
    assert fit.importance[0] == fit.importance.max()  # the RSI-like column decides most


def test_a_conversion_that_disagrees_with_the_library_is_refused():
    ours = np.array([[0.1, 0.2], [0.3, 0.4]])
    check_conversion(ours, ours + 1e-9, "xgboost")
    with pytest.raises(TreeConversionError, match="disagree with xgboost itself"):
        check_conversion(ours, ours + np.array([[0.0, 0.0], [0.0, 0.25]]), "xgboost")


@pytest.mark.parametrize("family", sorted(FITS))
def test_a_clone_of_the_rsi_bot_in_each_optional_family(family):
    data = dataset_of("rsi-reversion")
    result = train_clone(data, BOT, "rsi", TrainOptions(family=family, rounds=150))
    document = parse_model(dumps_model(result.document))
    assert document["estimator"]["family"] == family
    assert document["estimator"]["learner"].startswith(family)
    assert len(document["estimator"]["intercepts"]) == len(document["classes"])
    assert document["importance"]["method"].startswith("mean |")
    assert result.test["entry_macro_f1"] >= 0.9 and result.test["bar_agreement"] >= 0.99


def test_an_optional_family_is_not_continued_incrementally():
    data = dataset_of("ma-cross", 2_000)
    first = train_clone(data, BOT, "ma", TrainOptions(family="xgboost", rounds=20))
    with pytest.raises(ModelFormatError, match="not xgboost"):
        train_clone(data, BOT, "ma", TrainOptions(family="xgboost"), previous=first.document)


def test_a_family_that_is_not_installed_falls_back_to_lightgbm_with_a_warning(monkeypatch):
    said = []
    monkeypatch.setattr(batch.catboost_family, "available", lambda: False)
    options = installed_family(TrainOptions(family="catboost"), said.append)
    assert options.family == "lightgbm"
    assert said == ["warning: catboost is not installed (pip install catboost): using LightGBM"]
    kept = installed_family(TrainOptions(family="xgboost"), said.append)
    assert kept.family == "xgboost" and len(said) == 1
