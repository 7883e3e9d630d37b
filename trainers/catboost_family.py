"""CatBoost multiclass trees, rewritten into model.json's tree layout (optional family).

CatBoost is optional: `available()` says whether it can be imported, and ``botcopier train
--model catboost`` falls back to LightGBM with a warning when it cannot. CatBoost grows
oblivious trees: every level tests one split for the whole level, a row's leaf is the
number whose bit ``j`` says whether it passed split ``j`` (``float32(x) > border``), and
each leaf holds one value per class. Each such tree becomes one ordinary binary tree per
class, which `tree_layout` checks against CatBoost's own raw scores.

Examples
--------
A depth-2 oblivious tree has four leaves, each with a value for both classes: two binary
trees of three splits each.

>>> x = np.random.default_rng(0).normal(size=(600, 2))
>>> fit = fit_catboost(x, (x[:, 1] > 0).astype(int), 2, np.ones(600), rounds=5,
...                    params={"depth": 2})
>>> trees = fit.estimator["dump"]["tree_info"]
>>> len(trees), sorted(trees[0]["tree_structure"]["left_child"])[:3]
(10, ['decision_type', 'default_left', 'left_child'])
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from botcopier.trainers.tree_layout import (
    TreeFit,
    float32_at_most,
    intercepts_and_check,
    leaf_node,
    mean_abs_contribution,
    split_node,
    tree_estimator,
)

DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "depth": 6,
    "l2_leaf_reg": 3.0,
    # Fine borders, as for LightGBM: a rule "RSI below 30" needs a split close to 30.
    "border_count": 1024,
}


def available() -> bool:
    return importlib.util.find_spec("catboost") is not None


def _class_trees(
    tree: dict[str, Any], features: dict[int, dict[str, Any]], n_classes: int, scale: float
) -> list[dict[str, Any]]:
    splits = tree["splits"]
    values = np.asarray(tree["leaf_values"], dtype=float).reshape(-1, n_classes) * scale

    def node(level: int, leaf: int, klass: int) -> dict[str, Any]:
        if level == len(splits):
            return leaf_node(values[leaf, klass])
        split = splits[level]
        info = features[split["float_feature_index"]]
        return split_node(
            info["flat_feature_index"],
            float32_at_most(split["border"]),  # passing is float32(x) > border: bit 1, right
            node(level + 1, leaf, klass),
            node(level + 1, leaf | (1 << level), klass),
            missing_left=info.get("nan_value_treatment") != "AsTrue",
        )

    return [node(0, 0, klass) for klass in range(n_classes)]


def _trees(model: Any, n_classes: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        model.save_model(str(path), format="json")
        exported = json.loads(path.read_text())
    features = {f["feature_index"]: f for f in exported["features_info"]["float_features"]}
    scale = float(exported.get("scale_and_bias", [1.0])[0])
    trees: list[dict[str, Any]] = []
    for tree in exported["oblivious_trees"]:
        trees.extend(_class_trees(tree, features, n_classes, scale))
    return trees


def fit_catboost(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray,
    *,
    rounds: int = 300,
    params: dict[str, Any] | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    threads: int = -1,
    contributions: bool = True,
) -> TreeFit:
    """Boost ``rounds`` iterations (the best on the validation rows kept, when given)."""
    from catboost import CatBoostClassifier, Pool

    model = CatBoostClassifier(
        **{**DEFAULT_PARAMS, **(params or {})},
        loss_function="MultiClass",
        classes_count=n_classes,
        iterations=rounds,
        random_seed=seed,
        thread_count=threads,
        verbose=False,
        allow_writing_files=False,
    )
    train = Pool(x, label=y, weight=sample_weight)
    if validation is not None:
        model.fit(train, eval_set=Pool(*validation), early_stopping_rounds=30, use_best_model=True)
    else:
        model.fit(train)
    estimator = tree_estimator(
        "catboost", n_classes, _trees(model, n_classes), np.zeros(n_classes), _learner()
    )
    raw = model.predict(Pool(x), prediction_type="RawFormulaVal")
    estimator = intercepts_and_check(estimator, x.shape[1], x, raw)
    if contributions:
        shap = model.get_feature_importance(Pool(x, label=y), type="ShapValues")
        importance = mean_abs_contribution(shap, n_classes, x.shape[1])
    else:
        importance = np.asarray(model.get_feature_importance(), dtype=float)
    return TreeFit(estimator, importance, model.tree_count_, model)


def _learner() -> str:
    import catboost

    return f"catboost {catboost.__version__} MultiClass"
