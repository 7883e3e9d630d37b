"""Live features against the distribution a model was trained on, by PSI per feature.

A model.json carries, per feature, the bins of its training values::

    "feature_distributions": {
        "rsi_14": {"edges": [30.0, 50.0, 70.0], "fractions": [0.2, 0.3, 0.3, 0.2]},
        ...
    }

``edges`` are the inner bin edges, ``fractions`` the training share of each bin. The
strategy EA's Decision events carry the features it computed live. `FeatureDriftWatch`
counts them into the same bins in consecutive batches of ``batch_size`` decisions; at the
end of each batch every feature whose PSI is above the threshold is a `Detection`. Counts
are plain data (`to_state`), so a Faust table holds them across restarts.

Examples
--------
>>> model = {"feature_distributions": {"x": {"edges": [0.0], "fractions": [0.5, 0.5]}}}
>>> watch = FeatureDriftWatch(distributions_from_model(model), "v1", batch_size=4)
>>> [watch.on_decision({"x": v}) for v in (-1.0, 1.0, -2.0, 2.0)][-1]
[]
>>> found = [watch.on_decision({"x": v}) for v in (3.0, 4.0, 5.0, 6.0)][-1]
>>> found[0].feature, found[0].statistic > 0.2
('x', True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botcopier.streams.drift import Detection, bin_index, psi_of_counts


class ModelDistributionError(ValueError):
    """A model's feature_distributions section is missing or malformed."""


@dataclass(frozen=True)
class FeatureDistribution:
    edges: tuple[float, ...]
    fractions: tuple[float, ...]


def distributions_from_model(model: Mapping[str, Any]) -> dict[str, FeatureDistribution]:
    """The training distributions stored in a parsed model.json, checked."""
    section = model.get("feature_distributions")
    if not isinstance(section, Mapping) or not section:
        raise ModelDistributionError("model has no feature_distributions")
    found = {}
    for name, spec in section.items():
        where = f"feature_distributions.{name}"
        try:
            edges = tuple(float(e) for e in spec["edges"])
            fractions = tuple(float(f) for f in spec["fractions"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelDistributionError(f"{where}: needs numeric edges and fractions") from exc
        if len(fractions) != len(edges) + 1:
            raise ModelDistributionError(
                f"{where}: {len(fractions)} fractions need {len(fractions) - 1} edges"
            )
        if any(not math.isfinite(v) for v in (*edges, *fractions)):
            raise ModelDistributionError(f"{where}: edges and fractions must be finite")
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ModelDistributionError(f"{where}: edges must increase")
        if any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
            raise ModelDistributionError(f"{where}: fractions must be >= 0 and sum to 1")
        found[name] = FeatureDistribution(edges, fractions)
    return found


class FeatureDriftWatch:
    """One bot's live features for one model version, checked every ``batch_size`` decisions."""

    def __init__(
        self,
        distributions: Mapping[str, FeatureDistribution],
        model_version: str,
        batch_size: int = 500,
        threshold: float = 0.2,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.distributions = dict(distributions)
        self.model_version = model_version
        self.batch_size = batch_size
        self.threshold = threshold
        state = state or {}
        # Counts of another model version are not comparable with these bins: start over.
        same_model = state.get("model_version") == model_version
        self.seen = int(state.get("seen", 0)) if same_model else 0
        self.counts = {
            name: list(state["counts"][name])
            if same_model and name in state.get("counts", {})
            else [0] * len(dist.fractions)
            for name, dist in self.distributions.items()
        }
        self.fired = bool(state.get("fired", False)) if same_model else False

    def on_decision(self, features: Mapping[str, float]) -> list[Detection]:
        """Count one decision's features; at a batch's end, the features that drifted."""
        for name, dist in self.distributions.items():
            value = features.get(name)
            if value is not None and math.isfinite(value):
                self.counts[name][bin_index(dist.edges, value)] += 1
        self.seen += 1
        if self.seen < self.batch_size:
            return []
        found = []
        for name, dist in self.distributions.items():
            counts = self.counts[name]
            if sum(counts) == 0:
                continue  # the EA never sent this feature: nothing to judge
            score = psi_of_counts(dist.fractions, counts)
            if score > self.threshold:
                found.append(Detection("psi", score, self.threshold, feature=name))
        self.seen = 0
        self.counts = {name: [0] * len(d.fractions) for name, d in self.distributions.items()}
        return found

    def retrain_wanted(self, found: list[Detection]) -> bool:
        """True at the first drifted batch of a model version, then never again for it: a
        retrain brings a new version, and a flapping feature must not ask twice meanwhile."""
        if not found or self.fired:
            return False
        self.fired = True
        return True

    def to_state(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "seen": self.seen,
            "counts": self.counts,
            "fired": self.fired,
        }
