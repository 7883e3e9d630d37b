"""Optional Optuna search over model family, hyperparameters and feature subset.

Each trial trains a clone with `train_clone` (thresholds tuned on validation bars, as
always) and is judged by its **validation** entry macro-F1; the test bars stay untouched
until the chosen model is scored, so the search cannot overfit the number it reports. The
study's summary (best parameters, every trial's value) goes into the document's
``training.search`` and, when asked, into a JSON file.

The families are the linear model, LightGBM, and XGBoost and CatBoost when installed; the
decision thresholds of every trial are tuned on the validation bars (`tune_thresholds`).
Optuna is optional: without it `search_clone` raises `SearchUnavailableError` saying how to
install it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from botcopier.exceptions import BotCopierError
from botcopier.trainers.batch import OPTIONAL_FAMILIES, TrainOptions, TrainResult, train_clone
from botcopier.trainers.dataset import Dataset, NotEnoughDataError

Say = Callable[[str], None]


class SearchUnavailableError(BotCopierError):
    """Optuna is not installed."""


def _tree_params(trial: Any, family: str) -> dict[str, Any]:
    rate = trial.suggest_float(f"{family}_learning_rate", 0.02, 0.3, log=True)
    if family == "lightgbm":
        return {
            "learning_rate": rate,
            "num_leaves": trial.suggest_int("num_leaves", 4, 63, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 2, 50, log=True),
        }
    if family == "xgboost":
        return {
            "eta": rate,
            "max_depth": trial.suggest_int("max_depth", 2, 8),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 10, log=True),
        }
    return {
        "learning_rate": rate,
        "depth": trial.suggest_int("depth", 2, 8),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 10, log=True),
    }


def searched_families() -> list[str]:
    """The families a search tries: linear, LightGBM and the optional ones installed."""
    optional = [name for name, module in OPTIONAL_FAMILIES.items() if module.available()]
    return ["linear", "lightgbm", *optional]


def _suggest(
    trial: Any, names: list[str], base: TrainOptions, families: list[str]
) -> tuple[TrainOptions, list[str]]:
    family = trial.suggest_categorical("family", families)
    if family == "linear":
        options = replace(base, family=family, c=trial.suggest_float("c", 1e-2, 1e2, log=True))
    else:
        options = replace(base, family=family, lightgbm_params=_tree_params(trial, family))
    kept = [n for n in names if trial.suggest_categorical(f"use_{n}", [True, False])]
    return options, kept or names[:1]


def search_clone(
    data: Dataset,
    bot: Mapping[str, Any],
    name: str,
    base: TrainOptions,
    *,
    trials: int,
    say: Say = lambda line: None,
    summary_path: Path | None = None,
    **train_extra: Any,
) -> TrainResult:
    """Best clone of ``trials`` Optuna trials, by validation entry macro-F1."""
    try:
        import optuna
    except ImportError as exc:
        raise SearchUnavailableError(
            "--search needs Optuna: pip install optuna (or train without --search)"
        ) from exc
    names = list(data.features.columns)
    families = searched_families()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=base.seed)
    )
    results: dict[int, TrainResult] = {}

    def objective(trial: Any) -> float:
        options, kept = _suggest(trial, names, base, families)
        subset = replace(data, features=data.features[kept])
        try:
            result = train_clone(subset, bot, name, options, **train_extra)
        except NotEnoughDataError as exc:
            raise optuna.TrialPruned(str(exc)) from exc
        results[trial.number] = result
        score = result.validation["entry_macro_f1"]
        say(f"trial {trial.number + 1}/{trials}: {options.family}, {len(kept)} features, "
            f"validation entry macro-F1 {score:.4f}")  # fmt: skip
        return score

    study.optimize(objective, n_trials=trials)
    if not results:
        raise NotEnoughDataError("no search trial could be trained")
    best = study.best_trial
    summary = {
        "trials": len(study.trials),
        "best_trial": best.number,
        "best_value": best.value,
        "best_params": best.params,
        "values": [t.value for t in study.trials],
        "families": [t.params.get("family") for t in study.trials],
        "searched_families": families,
        "objective": "validation entry_macro_f1",
    }
    chosen = results[best.number]
    document = {**chosen.document, "training": {**chosen.document["training"], "search": summary}}
    if summary_path is not None:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        summary_path.write_text(json.dumps(summary, indent=1, default=str))
    return replace(chosen, document=document)
