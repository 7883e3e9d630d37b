"""PSI of live decision features against a model's training distribution."""

from __future__ import annotations

import numpy as np
import pytest

from botcopier.streams.drift import psi
from botcopier.streams.feature_drift import (
    FeatureDriftWatch,
    ModelDistributionError,
    distributions_from_model,
)


def training_model(rng: np.random.Generator) -> dict:
    """A model.json section for two features binned at training-set deciles."""
    section = {}
    for name, (mean, std) in {"rsi_14": (50.0, 10.0), "atr_14": (0.001, 0.0003)}.items():
        train = rng.normal(mean, std, 20_000)
        edges = np.quantile(train, [0.1 * i for i in range(1, 10)])
        counts = np.histogram(train, bins=[-np.inf, *edges, np.inf])[0]
        section[name] = {"edges": edges.tolist(), "fractions": (counts / counts.sum()).tolist()}
    return {"feature_distributions": section}


def test_stable_features_pass_and_a_shifted_one_is_caught_with_its_psi():
    rng = np.random.default_rng(11)
    model = training_model(rng)
    watch = FeatureDriftWatch(distributions_from_model(model), "v1", batch_size=400)
    for _ in range(399):
        stable = {"rsi_14": rng.normal(50, 10), "atr_14": rng.normal(1e-3, 3e-4)}
        assert watch.on_decision(stable) == []
    assert watch.on_decision({"rsi_14": 50.0, "atr_14": 1e-3}) == []  # a full, stable batch
    shifted = rng.normal(62, 10, 400)
    found = []
    for value in shifted:
        found = watch.on_decision({"rsi_14": float(value), "atr_14": rng.normal(1e-3, 3e-4)})
    [detection] = found
    spec = model["feature_distributions"]["rsi_14"]
    assert detection.feature == "rsi_14" and detection.detector == "psi"
    assert detection.statistic == pytest.approx(psi(spec["fractions"], shifted, spec["edges"]))
    assert detection.statistic > 0.2


def test_one_retrain_per_model_version_and_state_resumes():
    model = {"feature_distributions": {"x": {"edges": [0.0], "fractions": [0.5, 0.5]}}}
    dists = distributions_from_model(model)
    watch = FeatureDriftWatch(dists, "v1", batch_size=3, threshold=0.1)
    wanted = []
    for value in [5.0] * 9:
        found = watch.on_decision({"x": value})
        wanted.append(watch.retrain_wanted(found))
    assert wanted == [False, False, True, False, False, False, False, False, False]
    watch.on_decision({"x": 5.0})
    resumed = FeatureDriftWatch(dists, "v1", batch_size=3, threshold=0.1, state=watch.to_state())
    assert resumed.seen == 1 and resumed.fired
    renewed = FeatureDriftWatch(dists, "v2", batch_size=3, threshold=0.1, state=watch.to_state())
    assert renewed.seen == 0 and not renewed.fired  # a new version starts its own batches


def test_missing_and_non_finite_values_are_not_counted():
    model = {"feature_distributions": {"x": {"edges": [0.0], "fractions": [0.5, 0.5]}}}
    watch = FeatureDriftWatch(distributions_from_model(model), "v1", batch_size=2)
    watch.on_decision({"x": float("nan")})
    assert watch.counts["x"] == [0, 0] and watch.seen == 1
    assert watch.on_decision({}) == []  # a batch with no values of x judges nothing


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (None, "no feature_distributions"),
        ({"x": {"edges": [0.0]}}, "numeric edges and fractions"),
        ({"x": {"edges": [0.0], "fractions": [1.0]}}, "1 fractions need 0 edges"),
        ({"x": {"edges": [1.0, 0.0], "fractions": [0.3, 0.3, 0.4]}}, "edges must increase"),
        ({"x": {"edges": [0.0], "fractions": [0.3, 0.3]}}, "sum to 1"),
        ({"x": {"edges": [float("inf")], "fractions": [0.5, 0.5]}}, "finite"),
    ],
)
def test_malformed_distributions_are_refused_with_the_reason(section, message):
    model = {} if section is None else {"feature_distributions": section}
    with pytest.raises(ModelDistributionError, match=message):
        distributions_from_model(model)
