"""What `botcopier train` adds around the fit: machine mode, review weights, stops, risk parity.

- **Mode** (`hardware_profile`): lite, standard, heavy or deep with its feature flags, both
  recorded in model.json and honoured here: with ``lite_batches`` training streams batches
  as ``--lite-mode`` does, without ``lightgbm`` the family falls back to the linear model,
  without ``shap_importance`` tree importance is total split gain, without
  ``optuna_search`` a requested search is refused.
- **Review weights** (`sample_weights`): rows named in ``--uncertain-file`` or
  ``--replay-file`` weigh more; a human's label replaces the row's label.
- **Stops** (``--regress-sl-tp``): ridge regressors of the bot's stop-loss and take-profit
  distances at entry, on the model's own scaled features; and the break-even and trailing
  distances of its stop moves (`stop_management`).
- **Risk parity** (``--risk-parity``): weights across the symbols whose bars the bot's EA
  sent, so each contributes equal risk.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from botcopier.exceptions import BotCopierError
from botcopier.trainers.batch import TrainOptions
from botcopier.trainers.dataset import Dataset, NotEnoughDataError
from botcopier.trainers.hardware import hardware_profile
from botcopier.trainers.risk_parity import risk_parity
from botcopier.trainers.sample_weights import sample_weights
from botcopier.trainers.sources import BotHistory
from botcopier.trainers.stop_management import learn_management
from botcopier.trainers.stop_targets import entry_stops, fit_stop_regressors, stops_per_row

Say = Callable[[str], None]
_MINUTE_MS = 60_000


def machine_mode(args: argparse.Namespace, options: TrainOptions, say: Say):
    """The hardware profile and the options it allows."""
    profile = hardware_profile(override=None if args.mode == "auto" else args.mode)
    flags = profile["feature_flags"]
    say(f"mode {profile['mode']} ({profile['resources']}): flags {flags}")
    if not flags["lightgbm"] and options.family != "linear":
        say(f"mode {profile['mode']} allows no tree models: using the linear model")
        options = replace(options, family="linear")
    if getattr(args, "search", None) and not flags["optuna_search"]:
        raise BotCopierError(
            f"mode {profile['mode']} does not allow --search (optuna_search is off); "
            "force one with --mode heavy"
        )
    options = replace(options, contribution_importance=flags["shap_importance"])
    return profile, options


def lite_by_machine(args: argparse.Namespace, say: Say) -> bool:
    """Whether a machine in lite mode (``lite_batches`` on) trains as ``--lite-mode`` does.

    Lite mode streams the bars in batches and fits the linear model, so a tree family gives
    way to it; options that need the whole history in memory keep the ordinary trainer (on
    the linear model, as the flags say).
    """
    from botcopier.trainers.lite import lite_refusals

    profile = hardware_profile(override=None if args.mode == "auto" else args.mode)
    if not profile["feature_flags"]["lite_batches"]:
        return False
    blocking = [flag for flag in lite_refusals(args) if not flag.startswith("--model")]
    if blocking:
        say(f"mode lite: {', '.join(blocking)} need the whole history; not batching it")
        return False
    if args.family not in (None, "linear"):
        say("mode lite allows no tree models: using the linear model")
        args.family = "linear"
    say(f"mode lite ({profile['resources']}): training in batches, as --lite-mode does")
    return True


def decision_times(data: Dataset, timeframe_minutes: int) -> np.ndarray:
    return data.time_ms.to_numpy(dtype=np.int64) + timeframe_minutes * _MINUTE_MS


def review_weights(
    args: argparse.Namespace, data: Dataset, timeframe_minutes: int, say: Say
) -> tuple[Dataset, np.ndarray | None, dict[str, Any] | None]:
    if not (args.uncertain_file or args.replay_file):
        return data, None, None
    result = sample_weights(
        decision_times(data, timeframe_minutes),
        uncertain_file=args.uncertain_file,
        uncertain_weight=args.uncertain_weight,
        replay_file=args.replay_file,
        replay_weight=args.replay_weight,
    )
    for problem in result.problems:
        say(f"review file: {problem}")
    for line in result.unmatched:
        say(f"review file: {line}: matches no training bar")
    labels = data.labels.copy()
    for row, label in result.label_overrides.items():
        labels.iloc[row] = label
    summary = result.summary()
    say(f"review weights: {summary['weighted_rows']} rows weighted, "
        f"{summary['label_overrides']} labels from a human")  # fmt: skip
    return replace(data, labels=labels), result.weights, summary


def stops_section(history: BotHistory, say: Say) -> Callable[[dict, Dataset], Mapping[str, Any]]:
    """A `train_clone` post-fit hook that adds the stop regressors."""
    timeframe = history.bot["timeframe_minutes"]

    def post_fit(document: dict[str, Any], train: Dataset) -> Mapping[str, Any]:
        entries = entry_stops(history.events)
        targets = stops_per_row(
            entries, decision_times(train, timeframe), max_delay_ms=timeframe * _MINUTE_MS
        )
        names = [f["name"] for f in document["features"]]
        stops = fit_stop_regressors(
            train.features[names].reset_index(drop=True),
            targets.reset_index(drop=True),
            mean=np.asarray(document["scaler"]["mean"]),
            scale=np.asarray(document["scaler"]["scale"]),
        )
        for target, regressor in stops.items():
            if regressor is None:
                say(f"{target}: too few entries with that level: none learned")
            else:
                say(f"{target}: learned from {regressor['rows']} entries, "
                    f"rmse {regressor['rmse']:.6f}")  # fmt: skip
        management = learn_management(history.events, history.bars)
        for key, distance in management.items():
            say(f"{key}: " + (f"{distance:g}" if distance else "none learned"))
        return {"stops": stops, "management": management}

    return post_fit


def closes_by_symbol(bar_records: list[Mapping[str, Any]], timeframe_minutes: int) -> pd.DataFrame:
    """Close prices, one column per symbol, rows by bar open time (one timeframe)."""
    frame = pd.DataFrame(
        [r for r in bar_records if r["timeframe_minutes"] == timeframe_minutes],
        columns=["symbol", "event_time_ms", "close"],
    )
    if frame.empty:
        raise NotEnoughDataError("no bars for risk parity")
    frame = frame.drop_duplicates(["symbol", "event_time_ms"])
    return frame.pivot(index="event_time_ms", columns="symbol", values="close").sort_index()


def risk_parity_section(closes: pd.DataFrame, say: Say) -> dict[str, Any]:
    weights = risk_parity(closes.pct_change(fill_method=None).iloc[1:])
    say("risk parity: " + ", ".join(
        f"{s} {w:.3f}" for s, w in zip(weights["symbols"], weights["weights"], strict=True)
    ))  # fmt: skip
    return weights
