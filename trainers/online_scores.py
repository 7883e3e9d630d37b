"""Prequential scores of the online learner: each bar scored as predicted, before it is learned.

River's `metrics.Accuracy` and `metrics.MacroF1` run over the whole stream and, wrapped in
`utils.Rolling`, over the last ``window`` bars. "none" is most bars, so accuracy flatters a
clone that mostly waits: the headline is the entry macro-F1 (buy and sell), defined as in
`botcopier.trainers.scores` (a class neither present nor predicted scores 1). Over the
whole stream it comes from River's `metrics.ConfusionMatrix`; over the window from
`clone_scores` on the window's decisions, which is also what a snapshot reports.

Examples
--------
>>> scores = PrequentialScores(window=3)
>>> for truth, said in [("buy", "none"), ("none", "none"), ("buy", "buy"), ("none", "none")]:
...     scores.update(truth, said)
>>> summary = scores.summary()
>>> summary["accuracy"], round(summary["rolling_accuracy"], 3)
(0.75, 1.0)
>>> round(summary["entry_macro_f1"], 3), summary["rolling_entry_macro_f1"]
(0.833, 1.0)
>>> scores.window_scores()["rows"]
3
"""

from __future__ import annotations

from collections import deque
from typing import Any

from river import metrics, utils

from botcopier.trainers.scores import ENTRIES, clone_scores


def _f1(matrix: metrics.ConfusionMatrix, label: str) -> float:
    hits = matrix.true_positives(label)
    predicted = hits + matrix.false_positives(label)
    support = hits + matrix.false_negatives(label)
    if not predicted and not support:
        return 1.0  # handled perfectly: nothing to find, nothing claimed
    return 2 * hits / (predicted + support)


class PrequentialScores:
    """Overall and rolling scores of a stream of (true label, decision) pairs."""

    def __init__(self, window: int = 500) -> None:
        if window < 1:
            raise ValueError("the scoring window needs at least one bar")
        self.window = window
        self.accuracy = metrics.Accuracy()
        self.macro_f1 = metrics.MacroF1()
        self.confusion = metrics.ConfusionMatrix()
        self.rolling_accuracy = utils.Rolling(metrics.Accuracy, window_size=window)
        self.rolling_macro_f1 = utils.Rolling(metrics.MacroF1, window_size=window)
        self.recent: deque[tuple[str, str]] = deque(maxlen=window)
        self.scored = 0

    def update(self, truth: str, said: str) -> None:
        for metric in (self.accuracy, self.macro_f1, self.confusion):
            metric.update(truth, said)
        self.rolling_accuracy.update(truth, said)
        self.rolling_macro_f1.update(truth, said)
        self.recent.append((truth, said))
        self.scored += 1

    def window_scores(self) -> dict[str, Any]:
        """`clone_scores` of the last ``window`` decisions (the format of model.json metrics);
        ValueError before anything is scored."""
        return clone_scores([t for t, _ in self.recent], [s for _, s in self.recent])

    def summary(self) -> dict[str, float]:
        """Headline figures, overall and over the window (0 before anything is scored)."""
        if not self.recent:
            return dict.fromkeys(
                ("accuracy", "macro_f1", "entry_macro_f1", "rolling_accuracy",
                 "rolling_macro_f1", "rolling_entry_macro_f1"), 0.0,
            )  # fmt: skip
        return {
            "accuracy": self.accuracy.get(),
            "macro_f1": self.macro_f1.get(),
            "entry_macro_f1": sum(_f1(self.confusion, label) for label in ENTRIES) / len(ENTRIES),
            "rolling_accuracy": self.rolling_accuracy.get(),
            "rolling_macro_f1": self.rolling_macro_f1.get(),
            "rolling_entry_macro_f1": self.window_scores()["entry_macro_f1"],
        }
