"""The reference evaluator: class probabilities and decisions from a model.json alone.

Nothing here touches scikit-learn or LightGBM objects: the numbers come from the document,
as they will in the generated EA, so a model that scores well here scores the same there.

- ``linear``: ``p = softmax(W z + b)`` with ``z = (x - mean) / scale``;
- ``lightgbm`` (and ``xgboost``, ``catboost``, rewritten into the same layout): each tree of
  the dump adds its leaf value to the raw score of class ``tree_index mod num_class``,
  starting from the per-class ``intercepts`` (none for LightGBM); ``p = softmax(raw)``.
  A split sends a row left when ``x <= threshold``; a missing value follows
  ``default_left`` (LightGBM's rules: with ``missing_type`` ``NaN`` a NaN is missing, with
  ``Zero`` a zero is, otherwise a NaN counts as 0).

The decision: of the actions whose probability reaches their threshold, the most
probable; ``none`` when no action does.

Examples
--------
>>> doc = {"classes": ["none", "buy"], "scaler": {"mean": [0.0], "scale": [1.0]},
...        "estimator": {"family": "linear", "coefficients": [[0.0], [2.0]],
...                      "intercepts": [0.0, -1.0]},
...        "thresholds": {"buy": 0.6}}
>>> p = predict_proba(doc, np.array([[0.0], [2.0]]))
>>> np.round(p[:, 1], 3).tolist()
[0.269, 0.953]
>>> decide(doc, p)
['none', 'buy']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

_ZERO = 1e-35  # LightGBM's kZeroThreshold
# Families stored as trees in LightGBM's node layout (XGBoost's and CatBoost's rewritten
# into it by `tree_layout`).
TREE_FAMILIES = ("lightgbm", "xgboost", "catboost")


def softmax(raw: np.ndarray) -> np.ndarray:
    shifted = raw - raw.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def scale(doc: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    return (x - np.asarray(doc["scaler"]["mean"])) / np.asarray(doc["scaler"]["scale"])


def _tree_values(node: Mapping[str, Any], x: np.ndarray, rows: np.ndarray, out: np.ndarray):
    """Leaf value of each of ``rows`` (indices into x), written into ``out``."""
    stack = [(node, rows)]
    while stack:
        node, rows = stack.pop()
        if "leaf_value" in node:
            out[rows] = node["leaf_value"]
            continue
        if node.get("decision_type", "<=") != "<=":
            raise ValueError(f"unsupported split {node.get('decision_type')!r} (categorical?)")
        values = x[rows, node["split_feature"]]
        kind = node.get("missing_type", "None")
        nan = np.isnan(values)
        if kind == "NaN":
            missing = nan
        else:
            values = np.where(nan, 0.0, values)
            missing = np.abs(values) <= _ZERO if kind == "Zero" else np.zeros(len(rows), bool)
        left = np.where(missing, bool(node.get("default_left", True)), values <= node["threshold"])
        stack.append((node["left_child"], rows[left]))
        stack.append((node["right_child"], rows[~left]))


def raw_scores(doc: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """Per-class raw scores (before the softmax) of the rows of ``x`` (raw feature values)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(doc["scaler"]["mean"]):
        raise ValueError(f"expected rows of {len(doc['scaler']['mean'])} features, got {x.shape}")
    estimator = doc["estimator"]
    if estimator["family"] == "linear":
        weights = np.asarray(estimator["coefficients"], dtype=float)
        return scale(doc, x) @ weights.T + np.asarray(estimator["intercepts"], dtype=float)
    if estimator["family"] in TREE_FAMILIES:
        classes = estimator["num_class"]
        start = np.asarray(estimator.get("intercepts", [0.0] * classes), dtype=float)
        raw = np.tile(start, (len(x), 1))
        leaf = np.empty(len(x))
        rows = np.arange(len(x))
        for index, tree in enumerate(estimator["dump"]["tree_info"]):
            _tree_values(tree["tree_structure"], x, rows, leaf)
            raw[:, index % classes] += leaf
        return raw
    raise ValueError(f"unknown estimator family {estimator['family']!r}")


def predict_proba(doc: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """Class probabilities, columns in the order of ``doc["classes"]``."""
    return softmax(raw_scores(doc, x))


def decide(doc: Mapping[str, Any], proba: np.ndarray) -> list[str]:
    """The clone's action per row: the most probable action past its threshold, else none."""
    classes = list(doc["classes"])
    thresholds = doc.get("thresholds", {})
    actionable = np.array([c != "none" for c in classes])
    limits = np.array([thresholds.get(c, 0.5) for c in classes])
    gated = np.where(actionable & (proba >= limits), proba, -1.0)
    best = gated.argmax(axis=1)
    acts = gated[np.arange(len(proba)), best] >= 0
    return [classes[b] if act else "none" for b, act in zip(best, acts, strict=True)]
