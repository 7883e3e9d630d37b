"""Batch training of a clone: a `Dataset` in, a checked model.json document out.

The rows are cut by time (`time_split`): the estimator learns from the first part, the
decision thresholds are tuned on the next (validation), and the last part (test) is only
ever scored. Scores are computed by the reference evaluator from the finished document, so
they are the scores of what is saved, not of a library object that is thrown away.

Rare actions are weighted up (each class weighs as much as the others in total, "balanced")
unless ``class_weight`` is off. Pruning refits without the features whose share of the
importance is below ``prune_threshold``. Continuing a model (``previous``) keeps its
features, classes and scaler and moves its estimator with the new rows only.

Examples
--------
>>> import pandas as pd
>>> rng = np.random.default_rng(1)
>>> features = pd.DataFrame({"rsi_14": rng.uniform(0, 100, 1_000), "position": 0.0})
>>> labels = pd.Series(np.where(features["rsi_14"] < 30, "buy", "none"))
>>> data = Dataset(features, labels, pd.Series(np.arange(1_000) * 60_000))
>>> result = train_clone(data, {"symbol": "EURUSD", "timeframe_minutes": 1}, "demo",
...                      TrainOptions(family="lightgbm", rounds=50))
>>> result.document["classes"], result.test["entry_macro_f1"] > 0.45
(['none', 'buy'], True)
>>> result.test["per_class"]["buy"]["recall"] > 0.95
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from botcopier.trainers import catboost_family, xgboost_family
from botcopier.trainers.dataset import Dataset, NotEnoughDataError, time_split
from botcopier.trainers.features import FEATURES
from botcopier.trainers.labels import LABELS
from botcopier.trainers.lightgbm_family import fit_lightgbm
from botcopier.trainers.linear_family import continue_linear, fit_linear, linear_importance
from botcopier.trainers.model_document import (
    FORMAT,
    FORMAT_VERSION,
    ModelFormatError,
    feature_distributions,
    model_version,
    validate_model,
)
from botcopier.trainers.model_eval import decide, predict_proba, raw_scores
from botcopier.trainers.scores import clone_scores, log_loss
from botcopier.trainers.thresholds import tune_thresholds

Family = Literal["linear", "lightgbm", "xgboost", "catboost"]
# Optional families: installed separately; without them a request falls back to LightGBM.
OPTIONAL_FAMILIES = {"xgboost": xgboost_family, "catboost": catboost_family}
_OPTIONAL_FITS = {"xgboost": xgboost_family.fit_xgboost, "catboost": catboost_family.fit_catboost}
_IMPORTANCE = {
    "lightgbm": ("mean |LightGBM contribution|", "LightGBM total split gain"),
    "xgboost": ("mean |XGBoost SHAP value|", "XGBoost total split gain"),
    "catboost": ("mean |CatBoost SHAP value|", "CatBoost prediction value change"),
}


@dataclass(frozen=True)
class TrainOptions:
    family: Family = "linear"
    validation: float = 0.15
    test: float = 0.3
    class_weight: bool = True
    tune_thresholds: bool = True
    c: float = 1.0  # inverse L2 strength of the logistic regression
    rounds: int = 300  # most boosting rounds of a tree family (early stopping on validation)
    lightgbm_params: Mapping[str, Any] = field(default_factory=dict)  # of whichever tree family
    prune_threshold: float | None = None  # least share of the total importance to keep
    prune_warn: float = 0.5  # warn when more than this share of the features is pruned
    # Per-row contributions over every training row (costly on big data); else LightGBM's
    # total split gain per feature.
    contribution_importance: bool = True
    # Candidate features kept by `feature_selection.with_selected_features` (None: all).
    select_most: int | None = 40
    seed: int = 0


@dataclass(frozen=True)
class TrainResult:
    document: dict[str, Any]
    validation: dict[str, Any]
    test: dict[str, Any] | None
    warnings: list[str]
    # Of the bot's actions on the validation bars (None without them): `auto`'s tie-break.
    validation_log_loss: float | None = None


@dataclass(frozen=True)
class _Fit:
    estimator: dict[str, Any]
    importance: np.ndarray
    scaler: dict[str, list[float]]


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    """Per-row weights under which each class weighs as much as the others in total."""
    classes, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return (len(labels) / (len(classes) * counts))[index]


def _scaler(x: np.ndarray) -> dict[str, list[float]]:
    std = x.std(axis=0)
    # A constant feature (a fixed spread, say) keeps scale 1 rather than dividing by zero.
    return {"mean": x.mean(axis=0).tolist(), "scale": np.where(std > 1e-12, std, 1.0).tolist()}


def _fit(
    options: TrainOptions,
    names: list[str],
    x: tuple[np.ndarray, np.ndarray],
    y: tuple[np.ndarray, np.ndarray],
    weights: np.ndarray,
    n_classes: int,
    previous: Mapping[str, Any] | None,
) -> _Fit:
    scaler = dict(previous["scaler"]) if previous else _scaler(x[0])
    if options.family == "linear":
        z = (x[0] - np.asarray(scaler["mean"])) / np.asarray(scaler["scale"])
        if previous:
            estimator = continue_linear(previous["estimator"], z, y[0], weights, seed=options.seed)
        else:
            estimator = fit_linear(z, y[0], n_classes, weights, c=options.c)
        return _Fit(estimator, linear_importance(estimator, z), scaler)
    tree_options = {
        "rounds": options.rounds,
        "params": dict(options.lightgbm_params),
        "validation": (x[1], y[1]) if len(x[1]) else None,
        "seed": options.seed,
        "contributions": options.contribution_importance,
    }
    if options.family in OPTIONAL_FAMILIES:
        if previous:
            raise ModelFormatError(
                f"--incremental continues linear and LightGBM models, not {options.family}"
            )
        fit = _OPTIONAL_FITS[options.family](x[0], y[0], n_classes, weights, **tree_options)
    else:
        init = None
        if previous:
            init = (raw_scores(previous, x[0]), raw_scores(previous, x[1]) if len(x[1]) else None)
        fit = fit_lightgbm(
            x[0],
            y[0],
            n_classes,
            weights,
            levels=[FEATURES[n].levels if n in FEATURES else () for n in names],
            init_raw=init,
            previous=previous["estimator"] if previous else None,
            **tree_options,
        )
    return _Fit(fit.estimator, fit.importance, scaler)


def installed_family(options: TrainOptions, say: Callable[[str], None]) -> TrainOptions:
    """``options`` with an optional family that is not installed replaced by LightGBM."""
    module = OPTIONAL_FAMILIES.get(options.family)
    if module is None or module.available():
        return options
    say(
        f"warning: {options.family} is not installed (pip install "
        f"{'xgboost-cpu' if options.family == 'xgboost' else 'catboost'}): using LightGBM"
    )
    return replace(options, family="lightgbm")


def _check_continuation(previous: Mapping[str, Any], names: list[str], options: TrainOptions):
    old = [f["name"] for f in previous["features"]]
    if old != names:
        raise ModelFormatError(
            f"cannot continue {previous['name']} {previous['version']}: its features {old} "
            f"differ from {names}; train without --incremental"
        )
    if previous["estimator"]["family"] != options.family:
        raise ModelFormatError(
            f"cannot continue a {previous['estimator']['family']} model as {options.family}"
        )


def train_clone(
    data: Dataset,
    bot: Mapping[str, Any],
    name: str,
    options: TrainOptions = TrainOptions(),  # noqa: B008 - frozen, safe to share
    *,
    sample_weight: np.ndarray | None = None,
    previous: Mapping[str, Any] | None = None,
    training_extra: Mapping[str, Any] | None = None,
    document_extra: Mapping[str, Any] | None = None,
    post_fit: Callable[[dict[str, Any], Dataset], Mapping[str, Any]] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> TrainResult:
    """Fit, tune, score and document a clone of the bot whose bars and labels ``data`` holds.

    ``training_extra`` goes into the document's ``training`` section (offsets,
    last_event_id, source...); ``document_extra`` sets top-level sections (``mode``,
    ``feature_flags``, ``stops``, ``risk_parity``); ``post_fit(document, train_rows)``
    returns more top-level sections computed from the fitted document (the SL/TP
    regressors need its scaler and kept features).
    """
    split = time_split(len(data), validation=options.validation, test=options.test)
    train, valid, test = (data.rows(r) for r in (split.train, split.validation, split.test))
    names = list(data.features.columns)
    if previous:
        _check_continuation(previous, names, options)
        classes = list(previous["classes"])
        unknown = set(train.labels) - set(classes)
        if unknown:
            raise ModelFormatError(f"new data has classes {sorted(unknown)} the model lacks")
    else:
        present = set(train.labels)
        classes = [label for label in LABELS if label == "none" or label in present]
    if len(classes) < 2:
        raise NotEnoughDataError(
            f"the bot made no decision in the {len(train)} training bars: nothing to clone"
        )
    index = {label: i for i, label in enumerate(classes)}
    weights = np.ones(len(train)) if sample_weight is None else sample_weight[split.train]
    if options.class_weight:
        weights = weights * balanced_weights(train.labels.to_numpy())
    y = (train.labels.map(index).to_numpy(), valid.labels.map(index).fillna(0).to_numpy(int))
    warnings: list[str] = []
    pruned: list[str] = []
    while True:
        x = (train.features[names].to_numpy(float), valid.features[names].to_numpy(float))
        progress(f"fitting {options.family} on {len(train)} bars, {len(names)} features")
        fit = _fit(options, names, x, y, weights, len(classes), previous)
        if options.prune_threshold is None or pruned or previous:
            break
        share = fit.importance / max(float(fit.importance.sum()), 1e-300)
        weak = [n for n, s in zip(names, share, strict=True) if s < options.prune_threshold]
        if not weak or len(weak) == len(names):
            break
        if len(weak) > options.prune_warn * len(names):
            warnings.append(
                f"pruning drops {len(weak)} of {len(names)} features (more than "
                f"{options.prune_warn:.0%}): {', '.join(weak)}"
            )
        pruned = weak
        names = [n for n in names if n not in weak]
        progress(f"pruned {len(weak)} weak features; refitting")
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": "pending",
        "created_ms": int(time.time() * 1000),
        "bot": dict(bot),
        "classes": classes,
        "features": [
            {
                "name": n,
                "mql4": FEATURES[n].mql4,
                "warmup": FEATURES[n].warmup,
                "doc": FEATURES[n].doc,
            }
            for n in names
        ],  # fmt: skip
        "scaler": fit.scaler,
        "estimator": fit.estimator,
        "thresholds": dict.fromkeys(classes[1:], 0.5),
        "feature_distributions": feature_distributions(
            {n: train.features[n].to_numpy(float) for n in names}
        ),
        "importance": {
            "method": "mean |coefficient x z|"
            if options.family == "linear"
            else _IMPORTANCE[options.family][0 if options.contribution_importance else 1],
            "values": {n: float(v) for n, v in zip(names, fit.importance, strict=True)},
        },
        "mode": "standard",
        "feature_flags": {},
        "stops": None,
        "risk_parity": None,
        "max_tickets": data.max_tickets,
        **(document_extra or {}),
    }
    if len(valid):
        progress(f"tuning thresholds on {len(valid)} validation bars")
        proba = predict_proba(document, x[1])
        if options.tune_thresholds:
            document["thresholds"] = tune_thresholds(classes, proba, list(valid.labels))
        validation = clone_scores(list(valid.labels), decide(document, proba))
        validation_log_loss = log_loss(classes, proba, list(valid.labels))
    else:
        validation_log_loss = None
        validation = clone_scores(
            list(train.labels), decide(document, predict_proba(document, x[0]))
        )
        warnings.append("no validation bars: the validation scores are training scores")
    test_scores = None
    if len(test):
        progress(f"scoring on {len(test)} test bars")
        said = decide(document, predict_proba(document, test.features[names].to_numpy(float)))
        test_scores = clone_scores(list(test.labels), said)
    seen = train.time_ms if not len(valid) else valid.time_ms
    document["metrics"] = {"validation": validation, "test": test_scores}
    document["training"] = {
        "from_ms": int(train.time_ms.iloc[0]),
        "until_ms": int(seen.iloc[-1]),
        "rows": len(train),
        "class_counts": {c: int((train.labels == c).sum()) for c in classes},
        "incremental_of": previous["version"] if previous else None,
        "pruned": pruned,
        **(training_extra or {}),
    }
    if post_fit is not None:
        document.update(post_fit(document, train))
    content = {k: v for k, v in document.items() if k not in ("version", "created_ms")}
    document["version"] = model_version(document["created_ms"], content)
    return TrainResult(
        validate_model(document), validation, test_scores, warnings, validation_log_loss
    )
