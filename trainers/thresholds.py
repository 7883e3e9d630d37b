"""Per-action decision thresholds, tuned on validation bars.

The estimator's probabilities are calibrated to the weighted training loss, not to what
makes the clone act like the bot: a threshold per action, chosen to maximise the mean F1 of
the actions on the validation bars (coordinate ascent over a grid, a few rounds), turns
them into decisions. The decision rule is `botcopier.trainers.model_eval.decide`.

Examples
--------
>>> proba = np.array([[0.7, 0.3], [0.6, 0.4], [0.9, 0.1], [0.65, 0.35]])
>>> tune_thresholds(["none", "buy"], proba, ["none", "buy", "none", "buy"])
{'buy': 0.35}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from botcopier.trainers.model_eval import decide
from botcopier.trainers.scores import clone_scores

GRID = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))


def _objective(classes: list[str], thresholds: dict[str, float], proba, truth) -> float:
    said = decide({"classes": classes, "thresholds": thresholds}, proba)
    per_class = clone_scores(truth, said)["per_class"]
    return float(np.mean([per_class[c]["f1"] for c in classes if c != "none"]))


def tune_thresholds(
    classes: Sequence[str],
    proba: np.ndarray,
    truth: Sequence[str],
    *,
    rounds: int = 2,
) -> dict[str, float]:
    """Thresholds per action class maximising the actions' mean F1 on (proba, truth)."""
    classes = list(classes)
    actions = [c for c in classes if c != "none"]
    thresholds = dict.fromkeys(actions, 0.5)
    present = set(truth)
    for _ in range(rounds):
        for action in actions:
            if action not in present:
                continue  # nothing to tune on: keep the neutral 0.5
            best = max(
                GRID,
                key=lambda t: (
                    _objective(classes, {**thresholds, action: t}, proba, truth),
                    -abs(t - 0.5),  # among equals, the least extreme threshold
                ),
            )
            thresholds[action] = float(best)
    return thresholds
