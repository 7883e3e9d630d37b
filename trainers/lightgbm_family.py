"""LightGBM multiclass trees, stored as LightGBM's own JSON dump in model.json.

Trees read raw feature values (no scaling). Continuing a model (`--incremental`) boosts new
trees from the raw scores the stored trees give the new rows, which is what LightGBM's
``init_model`` does, and appends them to the stored ones: the document stays the only
state, nothing binary is kept.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(600, 2))
>>> y = (x[:, 0] > 0).astype(int)
>>> fit = fit_lightgbm(x, y, 2, np.ones(600), rounds=20)
>>> fit.estimator["family"], fit.estimator["num_class"], len(fit.estimator["dump"]["tree_info"])
('lightgbm', 2, 40)
>>> int(fit.importance.argmax())
0
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from botcopier.trainers.tree_layout import TreeFit, mean_abs_contribution

DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 5,
    # Fine bins: a bot's rule "RSI below 30" needs a split close to 30, not a coarse bin edge.
    "max_bin": 1023,
    "lambda_l2": 1.0,
}


# What evaluating a tree needs; LightGBM's training statistics (gains, counts, weights,
# internal values) are left out: they triple the document's size and nothing reads them.
_NODE_KEYS = {
    "split_index", "split_feature", "threshold", "decision_type", "default_left",
    "missing_type", "left_child", "right_child", "leaf_index", "leaf_value",
}  # fmt: skip


def _slim(node: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in node.items() if k in _NODE_KEYS}
    for child in ("left_child", "right_child"):
        if child in out:
            out[child] = _slim(out[child])
    return out


def _binning(
    max_bin: int, columns: int, levels: Sequence[Sequence[float]] | None, folder: Path
) -> dict[str, Any]:
    """Dataset parameters: ``max_bin`` quantile bins per column, but a column with levels
    gets exactly its levels as bin edges (LightGBM's forced bins), so its splits fall on them."""
    params: dict[str, Any] = {"max_bin": max_bin}
    if not levels or not any(levels):
        return params
    forced = [{"feature": i, "bin_upper_bound": [float(v) for v in column_levels]}
              for i, column_levels in enumerate(levels) if column_levels]  # fmt: skip
    path = folder / "forced_bins.json"
    path.write_text(json.dumps(forced))
    params["forcedbins_filename"] = str(path)
    params["max_bin_by_feature"] = [
        len(column_levels) + 1 if column_levels else max_bin for column_levels in levels
    ]
    return params


def fit_lightgbm(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray,
    *,
    rounds: int = 300,
    params: dict[str, Any] | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    init_raw: tuple[np.ndarray, np.ndarray | None] | None = None,
    previous: dict[str, Any] | None = None,
    seed: int = 0,
    threads: int = 0,
    contributions: bool = True,
    levels: Sequence[Sequence[float]] | None = None,
) -> TreeFit:
    """Boost ``rounds`` iterations (fewer if the validation loss stops improving).

    ``init_raw`` (train raw scores, validation raw scores) and ``previous`` (the stored
    estimator those scores came from) continue an existing model. ``levels`` (per column,
    empty for most) are the only places a column with levels is split (`Feature.levels`).
    """
    merged = {
        **DEFAULT_PARAMS,
        **(params or {}),
        "objective": "multiclass",
        "num_class": n_classes,
        "seed": seed,
        "deterministic": True,
        "num_threads": threads,
        "verbosity": -1,
    }
    with tempfile.TemporaryDirectory(prefix="botcopier-bins-") as folder:
        # Both sets share the booster's settings and the bins (the forced bins file lives
        # as long as the training does).
        dataset_params = {**merged, **_binning(merged["max_bin"], x.shape[1], levels, Path(folder))}
        train = lgb.Dataset(
            x,
            label=y,
            weight=sample_weight,
            init_score=None if init_raw is None else init_raw[0],
            params=dataset_params,
        )
        sets, callbacks = [], []
        if validation is not None:
            valid_init = None if init_raw is None else init_raw[1]
            sets = [lgb.Dataset(*validation, init_score=valid_init, reference=train,
                                params=dataset_params)]  # fmt: skip
            callbacks = [lgb.early_stopping(30, verbose=False)]
        booster = lgb.train(merged, train, rounds, valid_sets=sets, callbacks=callbacks)
    best = booster.best_iteration or booster.current_iteration()
    dump = booster.dump_model(num_iteration=best)
    for tree in dump["tree_info"]:
        tree["tree_structure"] = _slim(tree["tree_structure"])
    if previous is not None:
        dump["tree_info"] = previous["dump"]["tree_info"] + dump["tree_info"]
        for index, tree in enumerate(dump["tree_info"]):
            tree["tree_index"] = index
    if contributions:
        per_row = booster.predict(x, num_iteration=best, pred_contrib=True)
        importance = mean_abs_contribution(per_row, n_classes, x.shape[1])
    else:
        importance = booster.feature_importance("gain", iteration=best).astype(float)
    estimator = {"family": "lightgbm", "num_class": n_classes, "dump": dump}
    return TreeFit(estimator, importance, best, booster)
