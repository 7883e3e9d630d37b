"""Drift of a bot's results, and of live features against the training distribution.

Per bot, River detectors watch the stream of closed trades: ADWIN on win/loss (1/0) and
Page-Hinkley on the net profit per trade. Which detectors run, and their parameters, come
from `DriftConfig`. For features, `psi` compares live values with the bin fractions stored
in model.json.

Examples
--------
>>> psi([0.25, 0.25, 0.25, 0.25], [0.5, 1.5, 2.5, 3.5] * 25, edges=[1.0, 2.0, 3.0])
0.0
>>> round(psi([0.5, 0.5], [0.2] * 90 + [3.0] * 10, edges=[1.0]), 3)
0.879
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from river import drift as river_drift

# A bin that is empty on one side would make PSI infinite; it counts as this share instead.
_PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class Detection:
    detector: str
    statistic: float
    threshold: float
    feature: str | None = None  # set by feature-distribution checks


@dataclass(frozen=True)
class DriftConfig:
    adwin: dict[str, Any] | None = field(default_factory=lambda: {"delta": 0.002})
    page_hinkley: dict[str, Any] | None = field(
        default_factory=lambda: {"min_instances": 30, "delta": 0.005, "threshold": 50.0}
    )


class BotDriftDetectors:
    """The configured detectors of one bot; `update` with each closed trade's result."""

    def __init__(self, config: DriftConfig = DriftConfig()) -> None:
        self.config = config
        self._adwin = river_drift.ADWIN(**config.adwin) if config.adwin is not None else None
        self._page_hinkley = (
            river_drift.PageHinkley(**config.page_hinkley)
            if config.page_hinkley is not None
            else None
        )

    def update(self, net_profit: float) -> list[Detection]:
        found = []
        if self._adwin is not None:
            self._adwin.update(1 if net_profit > 0 else 0)
            if self._adwin.drift_detected:
                found.append(Detection("adwin", self._adwin.estimation, self.config.adwin["delta"]))
        if self._page_hinkley is not None:
            self._page_hinkley.update(net_profit)
            if self._page_hinkley.drift_detected:
                found.append(
                    Detection(
                        "page_hinkley", net_profit, float(self.config.page_hinkley["threshold"])
                    )
                )
        return found


def psi(expected: Sequence[float], actual: Iterable[float], edges: Sequence[float]) -> float:
    """Population stability index of ``actual`` values against ``expected`` bin fractions.

    ``edges`` are the inner bin edges (n bins need n - 1 edges); a value equal to an edge
    falls in the bin above it.
    """
    if len(expected) != len(edges) + 1:
        raise ValueError(f"{len(expected)} bins need {len(expected) - 1} edges, got {len(edges)}")
    counts = [0] * len(expected)
    for value in actual:
        counts[bin_index(edges, value)] += 1
    return psi_of_counts(expected, counts)


def bin_index(edges: Sequence[float], value: float) -> int:
    return bisect.bisect_right(edges, value)


def psi_of_counts(expected: Sequence[float], counts: Sequence[int]) -> float:
    """PSI of live per-bin ``counts`` against ``expected`` bin fractions."""
    if len(expected) != len(counts):
        raise ValueError(f"{len(expected)} expected bins, {len(counts)} counted")
    total = sum(counts)
    if total == 0:
        raise ValueError("no live values to compare")
    score = 0.0
    for share_expected, count in zip(expected, counts, strict=True):
        e = max(share_expected, _PSI_FLOOR)
        a = max(count / total, _PSI_FLOOR)
        score += (a - e) * math.log(a / e)
    return round(score, 12)
