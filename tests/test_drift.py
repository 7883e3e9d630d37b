from __future__ import annotations

import math
import random

import numpy as np
import pytest

from botcopier.streams.drift import BotDriftDetectors, DriftConfig, psi


def test_psi_matches_a_numpy_recomputation():
    rng = np.random.default_rng(3)
    train = rng.normal(0.0, 1.0, 5000)
    edges = list(np.quantile(train, [0.1 * i for i in range(1, 10)]))
    expected = np.histogram(train, bins=[-math.inf, *edges, math.inf])[0] / len(train)
    live = rng.normal(0.5, 1.2, 2000)
    actual = np.histogram(live, bins=[-math.inf, *edges, math.inf])[0] / len(live)
    reference = float(np.sum((actual - expected) * np.log(actual / expected)))
    assert psi(list(expected), live, edges) == pytest.approx(reference, rel=1e-9)
    assert psi(list(expected), train, edges) < 0.01  # same distribution: no drift
    assert psi(list(expected), live, edges) > 0.1


def test_psi_refuses_mismatched_bins_and_empty_input():
    with pytest.raises(ValueError, match="need 1 edges"):
        psi([0.5, 0.5], [1.0], edges=[])
    with pytest.raises(ValueError, match="no live values"):
        psi([0.5, 0.5], [], edges=[0.0])


def trades(rng: random.Random, win_rate: float, n: int) -> list[float]:
    return [
        abs(rng.gauss(20, 5)) if rng.random() < win_rate else -abs(rng.gauss(20, 5))
        for _ in range(n)
    ]


def detections(detectors: BotDriftDetectors, results: list[float]) -> list[tuple[int, str]]:
    return [(i, d.detector) for i, r in enumerate(results) for d in detectors.update(r)]


def test_a_collapsing_win_rate_is_detected_after_the_change():
    rng = random.Random(7)
    results = trades(rng, 0.7, 300) + trades(rng, 0.15, 200)
    found = detections(BotDriftDetectors(), results)
    adwin = [i for i, name in found if name == "adwin"]
    assert adwin and all(i >= 300 for i in adwin)


def test_a_steady_bot_raises_no_adwin_drift():
    rng = random.Random(11)
    found = detections(BotDriftDetectors(DriftConfig(page_hinkley=None)), trades(rng, 0.6, 600))
    assert found == []


def test_detectors_can_be_switched_off():
    rng = random.Random(7)
    results = trades(rng, 0.7, 300) + trades(rng, 0.15, 200)
    quiet = BotDriftDetectors(DriftConfig(adwin=None, page_hinkley=None))
    assert detections(quiet, results) == []
