"""Decision replay: an EA's logged decisions re-scored by a model, and where they diverge.

Each line of the strategy EA's decision log (`botcopier.trainers.decision_log`) holds the
features the EA computed; the model (usually a newer one) decides again on exactly those
numbers, with the same rules as the EA (`botcopier.codegen.strategy.decide_bar`, with the
model's thresholds). A line where the model now decides otherwise is a divergence; the
divergences file lists them with the columns ``botcopier train --replay-file`` reads
(``decision_time_ms``, see `botcopier.trainers.sample_weights`), so training can weigh those
bars by ``--replay-weight``.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "log.csv").write_text(
...     "time,symbol,model_version,action,probability,threshold,uncertain,rsi_14\\n"
...     "1704070800000,EURUSD,v1,none,0.4,0.5,0,25\\n"
...     "1704074400000,EURUSD,v1,none,0.2,0.5,0,45\\n")
>>> model = {"classes": ["none", "buy"], "features": [{"name": "rsi_14"}],
...          "scaler": {"mean": [50.0], "scale": [10.0]}, "thresholds": {"buy": 0.5},
...          "estimator": {"family": "linear", "coefficients": [[0.0], [-3.0]],
...                        "intercepts": [0.0, -4.0]}}
>>> result = replay_decisions(folder / "log.csv", model)
>>> result.replayed, [(d.time_ms, d.logged, d.now) for d in result.divergences]
(2, [(1704070800000, 'none', 'buy')])
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from botcopier.atomic_file import write_atomic
from botcopier.codegen.strategy import decide_bar
from botcopier.trainers.decision_log import LabelError, read_decision_log
from botcopier.trainers.model_eval import predict_proba
from botcopier.trainers.sample_weights import TIME_COLUMN

COLUMNS = (TIME_COLUMN, "symbol", "logged_action", "logged_probability", "model_action",
           "model_probability", "weight")  # fmt: skip


@dataclass(frozen=True)
class Divergence:
    where: str
    time_ms: int
    symbol: str
    logged: str
    logged_probability: float
    now: str
    now_probability: float


@dataclass(frozen=True)
class ReplayResult:
    replayed: int
    divergences: list[Divergence]
    problems: list[str]

    def pairs(self) -> Counter[tuple[str, str]]:
        return Counter((d.logged, d.now) for d in self.divergences)


def replay_decisions(
    log_path: Path, model: Mapping[str, Any], *, server_utc_offset_hours: float = 0.0
) -> ReplayResult:
    """Every decision of the log decided again by ``model``; the ones that differ."""
    log = read_decision_log(log_path, server_utc_offset_hours)
    names = [f["name"] for f in model["features"]]
    missing = sorted(set(names) - set(log.features))
    if missing:
        raise LabelError(f"{log_path}: the model needs features the log lacks: {missing}")
    if not log.decisions:
        return ReplayResult(0, [], log.problems)
    x = np.array([[d.features[n] for n in names] for d in log.decisions])
    proba = predict_proba(model, x)
    thresholds = {c: float(model["thresholds"].get(c, 0.5)) for c in model["classes"][1:]}
    divergences = []
    for decision, row in zip(log.decisions, proba, strict=True):
        now = decide_bar(row, model["classes"], thresholds, margin=0.0)
        if now.action != decision.action:
            divergences.append(Divergence(
                decision.where, decision.time_ms, decision.symbol, decision.action,
                decision.probability, now.action, now.probability,
            ))  # fmt: skip
    return ReplayResult(len(log.decisions), divergences, log.problems)


def write_divergences(result: ReplayResult, path: Path, weight: float) -> Path:
    """The divergences as the replay file `sample_weights` reads (atomically)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for d in result.divergences:
        writer.writerow([d.time_ms, d.symbol, d.logged, repr(d.logged_probability), d.now,
                         repr(d.now_probability), repr(weight)])  # fmt: skip
    write_atomic(path, buffer.getvalue())
    return path
