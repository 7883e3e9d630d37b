"""Which of the candidate features a clone keeps: the few its bot's decisions turn on.

A bot reads a handful of numbers (its MA pair, its RSI level, its position); the catalogue
offers nearly two hundred. Fitting on all of them lets rare decisions drown in noise and
makes every model slow to evaluate in MT4, so `select_features` ranks the candidates by the
split gain of one quick class-weighted LightGBM fitted on the **training rows only** (the
validation and test rows are never looked at) and keeps the strongest: as many as carry
``keep_share`` of the total gain, at most ``most``. ``position`` is always kept (the EA's
orders differ by what it holds, and a bot that never held anything in training would
otherwise lose it), and so is ``atr_14``: the stop regressors work on the model's features,
and a stop of ``k x ATR`` is linear in it alone.

Examples
--------
>>> import pandas as pd
>>> rng = np.random.default_rng(3)
>>> x = pd.DataFrame(rng.normal(size=(2_000, 6)), columns=list("abcdef")).assign(position=0.0)
>>> labels = pd.Series(np.where(x["c"] > 1.0, "buy", np.where(x["e"] < -1.0, "sell", "none")))
>>> select_features(x, labels, most=4)
['c', 'e', 'position']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import lightgbm as lgb
import numpy as np
import pandas as pd

from botcopier.trainers.batch import TrainOptions, balanced_weights
from botcopier.trainers.dataset import Dataset, time_split

ALWAYS_KEPT = ("position", "atr_14")
_SHOWN = 8  # names in the progress line (all of them are in the model document)


def select_features(
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    keep_share: float = 0.995,
    most: int = 40,
    rounds: int = 120,
    seed: int = 0,
) -> list[str]:
    """The names to keep, in ``features``' column order (training rows only, please)."""
    if not 0 < keep_share <= 1:
        raise ValueError(f"keep_share must be in (0, 1], not {keep_share}")
    names = list(features.columns)
    classes, y = np.unique(labels.to_numpy(), return_inverse=True)
    if len(classes) < 2:
        return names
    weights = balanced_weights(labels.to_numpy())
    params = {
        "objective": "multiclass",
        "num_class": len(classes),
        "num_leaves": 15,
        "learning_rate": 0.1,
        "min_data_in_leaf": 5,
        "feature_fraction": 1.0,
        "verbosity": -1,
        "seed": seed,
        "num_threads": 2,
        "deterministic": True,
    }
    data = lgb.Dataset(features.to_numpy(float), y, weight=weights, feature_name=names)
    booster = lgb.train(params, data, num_boost_round=rounds)
    gain = booster.feature_importance(importance_type="gain")
    order = np.argsort(-gain, kind="stable")
    total = float(gain.sum())
    chosen: set[str] = set()
    carried = 0.0
    for index in order[:most]:
        if gain[index] <= 0 or (total and carried / total >= keep_share):
            break
        chosen.add(names[index])
        carried += float(gain[index])
    chosen.update(name for name in ALWAYS_KEPT if name in names)
    return [name for name in names if name in chosen]


def with_selected_features(
    data: Dataset, options: TrainOptions, say: Callable[[str], None] = lambda line: None
) -> Dataset:
    """``data`` with only the columns `select_features` keeps, chosen on its training rows
    (as `train_clone` will cut them); unchanged when ``options.select_most`` is None or
    there are no more columns than that."""
    most = options.select_most
    if most is None or len(data.features.columns) <= most:
        return data
    train = time_split(len(data), validation=options.validation, test=options.test).train
    rows = data.rows(train)
    names = select_features(rows.features, rows.labels, most=most, seed=options.seed)
    shown = ", ".join(names[:_SHOWN]) + (
        f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    )
    say(f"selected {len(names)} of {len(data.features.columns)} candidate features on the "
        f"{len(rows)} training bars: {shown}")  # fmt: skip
    return replace(data, features=data.features[names])
