"""Lite mode's running statistics: scores, moments and a row sample kept over blocks of rows.

Each takes rows block by block and keeps a fixed amount of memory, so lite mode
(`botcopier.trainers.lite`) can score and scale a history it never holds whole.

Examples
--------
>>> from botcopier.trainers.scores import clone_scores
>>> s = StreamingScores()
>>> s.update(["none", "buy", "none"], ["none", "buy", "buy"])
>>> s.update(["sell"], ["sell"])
>>> s.get() == clone_scores(["none", "buy", "none", "sell"], ["none", "buy", "buy", "sell"])
True
>>> m = RunningMoments(1)
>>> m.update(np.array([[1.0], [2.0]])); m.update(np.array([[3.0]]))
>>> m.count, m.mean.tolist(), round(float(m.std()[0]), 6)
(3, [2.0], 0.816497)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from botcopier.trainers.labels import LABELS
from botcopier.trainers.scores import ENTRIES

_LABEL_INDEX = pd.Index(LABELS)


def label_codes(labels: Sequence[str] | np.ndarray) -> np.ndarray:
    codes = _LABEL_INDEX.get_indexer(np.asarray(labels, dtype=object))
    if (codes < 0).any():
        raise ValueError(f"labels outside {LABELS}")
    return codes.astype(np.int64)


class StreamingScores:
    """`clone_scores` of rows given block by block, from a confusion matrix over the labels."""

    def __init__(self) -> None:
        self.confusion = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)  # truth x said

    def update(self, truth: Sequence[str], said: Sequence[str]) -> None:
        truth_codes, said_codes = label_codes(truth), label_codes(said)
        if len(truth_codes) != len(said_codes):
            raise ValueError(f"{len(truth_codes)} true labels but {len(said_codes)} predictions")
        pairs = truth_codes * len(LABELS) + said_codes
        counts = np.bincount(pairs, minlength=len(LABELS) ** 2)
        self.confusion += counts.reshape(len(LABELS), len(LABELS))

    def get(self) -> dict[str, Any]:
        rows = int(self.confusion.sum())
        if rows == 0:
            raise ValueError("no bars to score")
        per_class = {}
        for i, label in enumerate(LABELS):
            # The same arithmetic as clone_scores, on the same integers: the same floats.
            hits = int(self.confusion[i, i])
            predicted, support = int(self.confusion[:, i].sum()), int(self.confusion[i].sum())
            precision = hits / predicted if predicted else 0.0
            recall = hits / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            if not predicted and not support:
                precision = recall = f1 = 1.0
            per_class[label] = {
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": support,
            }
        return {
            "rows": rows,
            "bar_agreement": float(np.trace(self.confusion) / rows),
            "entry_macro_f1": float(np.mean([per_class[label]["f1"] for label in ENTRIES])),
            "per_class": per_class,
        }


class RunningMoments:
    """Count, mean and population standard deviation per column over blocks of rows."""

    def __init__(self, width: int) -> None:
        self.count = 0
        self.mean = np.zeros(width)
        self._m2 = np.zeros(width)

    def update(self, x: np.ndarray) -> None:
        n = len(x)
        if not n:
            return
        block_mean = x.mean(axis=0)
        block_m2 = ((x - block_mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = block_mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self._m2 = self._m2 + block_m2 + delta**2 * (self.count * n / total)
        self.count = total

    def std(self) -> np.ndarray:
        return np.sqrt(self._m2 / max(self.count, 1))


class Reservoir:
    """A uniform sample of at most ``size`` rows of all rows offered (Vitter's algorithm R)."""

    def __init__(self, size: int, width: int, seed: int = 0) -> None:
        self.rows = np.empty((size, width))
        self.seen = 0
        self._rng = np.random.default_rng(seed)

    def update(self, x: np.ndarray) -> None:
        size, filled = len(self.rows), min(self.seen, len(self.rows))
        take = min(len(x), size - filled)
        self.rows[filled : filled + take] = x[:take]
        rest = x[take:]
        if len(rest):
            # Row number k (0-based) replaces a random slot with probability size / (k + 1).
            numbers = np.arange(self.seen + take, self.seen + len(x))
            slots = self._rng.integers(0, numbers + 1)
            chosen = np.flatnonzero(slots < size)
            # Of several rows drawing one slot, the last one offered stays, as one by one.
            _, last = np.unique(slots[chosen][::-1], return_index=True)
            keep = chosen[len(chosen) - 1 - last]
            self.rows[slots[keep]] = rest[keep]
        self.seen += len(x)

    def sample(self) -> np.ndarray:
        return self.rows[: min(self.seen, len(self.rows))]
