"""XGBoost multiclass trees, rewritten into model.json's tree layout (optional family).

XGBoost is optional: `available()` says whether it can be imported, and ``botcopier
train --model xgboost`` falls back to LightGBM with a warning when it cannot. Its trees come
from the booster's own JSON model (``save_raw("json")``), whose split conditions are the
exact float32 values XGBoost compares with ``float32(x) < condition``; `tree_layout` turns
each into the equivalent ``x <= threshold`` on doubles and checks the result against
XGBoost's own margins.

Examples
--------
>>> x = np.random.default_rng(0).uniform(0, 100, size=(900, 2))   # an RSI and a distraction
>>> y = np.select([x[:, 0] < 30, x[:, 0] > 70], [1, 2], 0)           # buy low, sell high
>>> fit = fit_xgboost(x, y, 3, np.ones(900), rounds=10)
>>> fit.estimator["learner"].startswith("xgboost"), len(fit.estimator["dump"]["tree_info"])
(True, 30)
>>> bool(fit.importance[0] > 10 * fit.importance[1])
True
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import numpy as np

from botcopier.trainers.tree_layout import (
    TreeConversionError,
    TreeFit,
    float32_below,
    intercepts_and_check,
    leaf_node,
    mean_abs_contribution,
    split_node,
    tree_estimator,
)

DEFAULT_PARAMS: dict[str, Any] = {
    "eta": 0.1,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "lambda": 1.0,
    "tree_method": "hist",
    # Fine bins, as for LightGBM: a rule "RSI below 30" needs a split close to 30.
    "max_bin": 1024,
}


def available() -> bool:
    return importlib.util.find_spec("xgboost") is not None


def _tree(model: dict[str, Any]) -> dict[str, Any]:
    left, right = model["left_children"], model["right_children"]
    feature, condition = model["split_indices"], model["split_conditions"]
    missing_left = model["default_left"]

    def node(i: int) -> dict[str, Any]:
        if left[i] == -1:
            return leaf_node(condition[i])  # a leaf keeps its value in split_conditions
        return split_node(
            feature[i],
            float32_below(condition[i]),
            node(left[i]),
            node(right[i]),
            missing_left=bool(missing_left[i]),
        )

    return node(0)


def _trees(booster: Any, n_classes: int) -> list[dict[str, Any]]:
    model = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]["model"]
    owners = [int(c) for c in model["tree_info"]]
    if owners != [i % n_classes for i in range(len(owners))]:
        raise TreeConversionError("xgboost trees are not in round-robin class order")
    return [_tree(tree) for tree in model["trees"]]


def fit_xgboost(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray,
    *,
    rounds: int = 300,
    params: dict[str, Any] | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    threads: int = 0,
    contributions: bool = True,
) -> TreeFit:
    """Boost ``rounds`` iterations (fewer if the validation loss stops improving)."""
    import xgboost as xgb

    merged = {
        **DEFAULT_PARAMS,
        **(params or {}),
        "objective": "multi:softprob",
        "num_class": n_classes,
        "seed": seed,
        "nthread": threads,
        "verbosity": 0,
    }
    train = xgb.DMatrix(x, label=y, weight=sample_weight)
    evals, stopping = [], None
    if validation is not None:
        evals, stopping = [(xgb.DMatrix(*validation), "validation")], 30
    booster = xgb.train(
        merged, train, rounds, evals=evals, early_stopping_rounds=stopping, verbose_eval=False
    )
    if stopping is not None:
        booster = booster[: booster.best_iteration + 1]
    estimator = tree_estimator(
        "xgboost", n_classes, _trees(booster, n_classes), np.zeros(n_classes), _learner(xgb)
    )
    margins = booster.predict(xgb.DMatrix(x), output_margin=True)
    estimator = intercepts_and_check(estimator, x.shape[1], x, margins)
    if contributions:
        per_row = booster.predict(xgb.DMatrix(x), pred_contribs=True)
        importance = mean_abs_contribution(per_row, n_classes, x.shape[1])
    else:
        gains = booster.get_score(importance_type="total_gain")
        importance = np.array([gains.get(f"f{i}", 0.0) for i in range(x.shape[1])])
    return TreeFit(estimator, importance, booster.num_boosted_rounds(), booster)


def _learner(module: Any) -> str:
    return f"xgboost {module.__version__} multi:softprob"
