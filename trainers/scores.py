"""How well a clone does what its bot did, bar by bar.

"Nothing" dominates the bars, so agreement over all bars flatters any clone that mostly
waits. The headline is the macro-F1 over the entry decisions (``buy`` and ``sell``): the
mean of their F1 scores, each counting every bar where either side said so. Both figures,
and precision and recall per class, are reported together.

Examples
--------
>>> truth = ["none", "buy", "none", "sell", "none", "none"]
>>> said = ["none", "buy", "buy", "sell", "none", "none"]
>>> s = clone_scores(truth, said)
>>> round(s["bar_agreement"], 3), round(s["entry_macro_f1"], 3)
(0.833, 0.833)
>>> s["per_class"]["buy"]
{'precision': 0.5, 'recall': 1.0, 'f1': 0.6666666666666666, 'support': 1}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from botcopier.trainers.labels import LABELS

ENTRIES = ("buy", "sell")


def _class_scores(truth: np.ndarray, said: np.ndarray, label: str) -> dict[str, Any]:
    hits = int(np.sum((truth == label) & (said == label)))
    predicted, support = int(np.sum(said == label)), int(np.sum(truth == label))
    precision = hits / predicted if predicted else 0.0
    recall = hits / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # A class neither present nor predicted was handled perfectly: score it 1, not 0.
    if not predicted and not support:
        precision = recall = f1 = 1.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def clone_scores(truth: Sequence[str], said: Sequence[str]) -> dict[str, Any]:
    """Bar agreement, entry macro-F1 and per-class precision/recall/F1/support."""
    truth_array, said_array = np.asarray(truth, dtype=object), np.asarray(said, dtype=object)
    if len(truth_array) != len(said_array):
        raise ValueError(f"{len(truth_array)} true labels but {len(said_array)} predictions")
    if len(truth_array) == 0:
        raise ValueError("no bars to score")
    per_class = {label: _class_scores(truth_array, said_array, label) for label in LABELS}
    return {
        "rows": len(truth_array),
        "bar_agreement": float(np.mean(truth_array == said_array)),
        "entry_macro_f1": float(np.mean([per_class[label]["f1"] for label in ENTRIES])),
        "per_class": per_class,
    }


def log_loss(classes: Sequence[str], proba: np.ndarray, truth: Sequence[str]) -> float:
    """Mean negative log probability the model gave each bar's true action (bars whose action
    is not among ``classes`` are left out; 0.0 when none is left).

    >>> round(log_loss(["none", "buy"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["none", "buy"]), 4)
    0.1643
    """
    index = {label: i for i, label in enumerate(classes)}
    seen = np.array([index.get(label, -1) for label in truth], dtype=int)
    known = np.flatnonzero(seen >= 0)
    if not len(known):
        return 0.0
    picked = np.asarray(proba)[known, seen[known]]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def describe(scores: dict[str, Any]) -> list[str]:
    """Readable lines: the two headline figures, then one line per class."""
    lines = [
        f"bars scored        {scores['rows']}",
        f"entry macro-F1     {scores['entry_macro_f1']:.4f}  (buy and sell)",
        f"bar agreement      {scores['bar_agreement']:.4f}  (none/buy/sell/close)",
        "class   precision  recall   f1      support",
    ]
    for label, s in scores["per_class"].items():
        lines.append(
            f"{label:<7} {s['precision']:<10.4f} {s['recall']:<8.4f} {s['f1']:<7.4f} {s['support']}"
        )
    return lines
