"""Other libraries' tree ensembles in model.json's one tree layout (LightGBM's node form).

The generated EA walks one kind of tree: a node sends a row left when ``x <= threshold``
(in doubles), a leaf holds ``leaf_value``, tree ``i`` adds to class ``i mod num_class``,
and the per-class ``intercepts`` start the sums. XGBoost and CatBoost compare single
precision floats instead (``float32(x) < t`` and ``float32(x) > border``); each such test is
rewritten as the double threshold that sends exactly the same doubles left, so nothing in
the EA has to round to float32.

A conversion is never trusted blind: `check_conversion` compares the converted document's
raw scores with the library's own on the training rows and refuses a mismatch.

Examples
--------
>>> t = float(np.float32(0.1))                  # a float32 threshold, as XGBoost stores it
>>> d = float32_at_most(t)                      # float32(x) <= t  <=>  x <= d
>>> all(np.float32(x) <= np.float32(t) for x in (d, 0.1, 0.09))
True
>>> bool(np.float32(np.nextafter(d, 1)) <= t)   # the very next double rounds past t
False
>>> float32_below(1.0) < 1.0 < float32_at_most(1.0)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from botcopier.trainers.model_eval import raw_scores


@dataclass(frozen=True)
class TreeFit:
    """What a tree family's fit gives the batch trainer."""

    estimator: dict[str, Any]  # model.json's estimator section
    importance: np.ndarray  # per feature, summed over classes
    rounds: int  # boosting rounds kept
    library_model: Any = None  # the library's own model, for comparison; never saved


def mean_abs_contribution(per_row: np.ndarray, n_classes: int, n_features: int) -> np.ndarray:
    """Per feature: mean |contribution| over rows, summed over classes (bias column dropped).

    ``per_row`` is a library's per-row, per-class contributions (SHAP values), each class
    block ending with the bias, as LightGBM, XGBoost and CatBoost all lay them out.
    """
    blocks = np.abs(np.asarray(per_row)).reshape(-1, n_classes, n_features + 1)
    return blocks[:, :, :-1].mean(axis=0).sum(axis=0)


class TreeConversionError(ValueError):
    """A library's trees could not be expressed exactly in model.json's layout."""


def _mantissa_even(value: np.float32) -> bool:
    return int(np.array(value, dtype=np.float32).view(np.uint32)) % 2 == 0


def float32_at_most(threshold: float) -> float:
    """The largest double ``d`` with ``float32(x) <= t  <=>  x <= d`` (t a float32 value)."""
    t = np.float32(threshold)
    if np.isinf(t):
        return float(t)
    above = np.nextafter(t, np.float32(np.inf))
    # Doubles between t and the next float32 round to the nearer one; the exact midpoint
    # rounds to the one whose mantissa is even.
    midpoint = (float(t) + float(above)) / 2.0
    return midpoint if _mantissa_even(t) else float(np.nextafter(midpoint, -np.inf))


def float32_below(threshold: float) -> float:
    """The largest double ``d`` with ``float32(x) < t  <=>  x <= d`` (t a float32 value)."""
    t = np.float32(threshold)
    return float32_at_most(float(np.nextafter(t, np.float32(-np.inf))))


def split_node(
    feature: int, threshold: float, left: dict, right: dict, *, missing_left: bool
) -> dict[str, Any]:
    """An inner node in the layout (NaN is missing; it goes left when ``missing_left``)."""
    return {
        "split_feature": int(feature),
        "threshold": float(threshold),
        "decision_type": "<=",
        "default_left": bool(missing_left),
        "missing_type": "NaN",
        "left_child": left,
        "right_child": right,
    }


def leaf_node(value: float) -> dict[str, Any]:
    return {"leaf_value": float(value)}


def tree_estimator(
    family: str, n_classes: int, trees: list[dict[str, Any]], intercepts: np.ndarray, learner: str
) -> dict[str, Any]:
    return {
        "family": family,
        "num_class": n_classes,
        "intercepts": [float(v) for v in intercepts],
        "learner": learner,
        "dump": {
            "tree_info": [
                {"tree_index": index, "tree_structure": tree} for index, tree in enumerate(trees)
            ]
        },
    }


def intercepts_and_check(
    estimator: dict[str, Any], n_features: int, x: np.ndarray, library_raw: np.ndarray
) -> dict[str, Any]:
    """Set the intercepts from the library's raw scores and check every row agrees.

    The intercept is whatever constant the library adds before its trees (XGBoost's base
    score, CatBoost's bias), read off as library minus trees; any row that then disagrees
    means the trees were not rewritten exactly.
    """
    doc = {
        "scaler": {"mean": [0.0] * n_features, "scale": [1.0] * n_features},
        "estimator": {**estimator, "intercepts": [0.0] * estimator["num_class"]},
    }
    trees = raw_scores(doc, x)
    library_raw = np.asarray(library_raw, dtype=float).reshape(trees.shape)
    intercepts = np.median(library_raw - trees, axis=0)
    check_conversion(trees + intercepts, library_raw, estimator["family"])
    return {**estimator, "intercepts": [float(v) for v in intercepts]}


def check_conversion(ours: np.ndarray, theirs: np.ndarray, family: str) -> None:
    # The libraries sum leaf values in float32; a few ulps of that are expected, a wrong
    # branch costs a whole leaf value.
    worst = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    if worst > 1e-4 * max(1.0, float(np.max(np.abs(theirs)))):
        raise TreeConversionError(
            f"{family} trees rewritten for model.json disagree with {family} itself by "
            f"{worst:.3g} on a training row; refusing to save them"
        )
