"""`botcopier train` and `botcopier evaluate`: a bot's history in, a model file or scores out.

Both read one bot's history (from Kafka by ``--account``/``--magic``, or from ``--bars`` and
``--events`` files), build the bar table and train with `train_clone`. ``train`` saves the
document as ``<out>/<name>-<version>.model.json``; ``evaluate`` prints the clone's test
scores (trained on the first 70% by time unless ``--test`` says otherwise) or, with
``--model``, the scores of an existing model on the same test window, and its entry timing
(`entry_timing`: how many bars from each of the bot's entries the clone's nearest one of
the same side is, within ±5 bars), and ends with one ``RESULT`` line.

``--model auto`` (the default) selects the features, fits the linear model and LightGBM and
keeps the one with the better validation entry macro-F1; on equal F1 (common: the validation
bars hold few entries) the better bar agreement, then the lower log loss of the bot's
actions, then the linear model.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from botcopier.config import Settings
from botcopier.names import clone_model_name
from botcopier.trainers.batch import TrainOptions, TrainResult, installed_family, train_clone
from botcopier.trainers.dataset import Dataset, NotEnoughDataError, build_dataset, time_split
from botcopier.trainers.entry_timing import describe_timing, entry_timing
from botcopier.trainers.entry_timing import result_fields as timing_fields
from botcopier.trainers.feature_selection import with_selected_features
from botcopier.trainers.features import CANDIDATE_FEATURES, FEATURES
from botcopier.trainers.model_document import load_model, save_model
from botcopier.trainers.model_eval import decide, predict_proba
from botcopier.trainers.scores import clone_scores, describe
from botcopier.trainers.sources import (
    BotHistory,
    history_from_files,
    history_from_kafka,
    read_to_end,
)
from botcopier.trainers.train_extras import (
    closes_by_symbol,
    lite_by_machine,
    machine_mode,
    review_weights,
    risk_parity_section,
    stops_section,
)
from botcopier.trainers.windows import bar_time_ms, describe_windows, windowed

Say = Callable[[str], None]
TIMING_WINDOW_BARS = 5  # a clone entry this many bars from the bot's still counts as it


def load_history(settings: Settings, args: argparse.Namespace, say: Say) -> BotHistory:
    if args.bars or args.events:
        if not (args.bars and args.events):
            raise NotEnoughDataError("--bars and --events go together")
        return history_from_files(
            args.bars,
            args.events,
            account=args.account,
            magic=args.magic,
            symbol=args.symbol,
            say=say,
        )
    if args.account is None or args.magic is None:
        raise NotEnoughDataError("say which bot: --account and --magic (or --bars and --events)")
    say(f"reading bot {args.account}:{args.magic} from Kafka at {settings.bootstrap_servers()}")
    return history_from_kafka(
        settings,
        args.account,
        args.magic,
        symbol=args.symbol,
        timeframe_minutes=args.timeframe,
        progress=say,
    )


def with_windows(
    args: argparse.Namespace, history: BotHistory, data: Dataset, say: Say
) -> tuple[argparse.Namespace, Dataset]:
    """The rows to use and ``args`` with the shares that cut them by ``--train-until`` /
    ``--test-from`` (or as given), after printing the exact windows."""
    dates = {
        name: bar_time_ms(f"--{name.replace('_', '-')}", getattr(args, name))
        for name in ("train_until", "test_from")
        if getattr(args, name, None)
    }
    windows = windowed(
        data,
        last_bar_ms=int(history.bars["time_ms"].max()),
        validation=args.validation,
        test=args.test,
        train_until_ms=dates.get("train_until"),
        test_from_ms=dates.get("test_from"),
    )
    for line in describe_windows(windows):
        say(f"window: {line}")
    shares = {"validation": windows.validation, "test": windows.test}
    return argparse.Namespace(**{**vars(args), **shares}), windows.data


def options_from(args: argparse.Namespace, family: str) -> TrainOptions:
    return TrainOptions(
        family=family,
        validation=args.validation,
        test=args.test,
        class_weight=not args.no_class_weight,
        tune_thresholds=not args.no_threshold_tuning,
        rounds=args.rounds,
        prune_threshold=getattr(args, "prune_threshold", None),
        prune_warn=getattr(args, "prune_warn", 0.5),
        seed=args.seed,
    )


def train_best(
    data: Dataset, bot: dict[str, Any], name: str, options: TrainOptions, say: Say, **extra: Any
) -> TrainResult:
    """Train ``options.family``; for ``auto``, both families and keep the better one."""
    options = installed_family(options, say)
    if extra.get("previous") is None:  # a continued model keeps the features it has
        data = with_selected_features(data, options, say)
    if options.family != "auto":
        return train_clone(data, bot, name, options, progress=say, **extra)
    results = [
        train_clone(data, bot, name, replace(options, family=family), progress=say, **extra)
        for family in ("linear", "lightgbm")
    ]
    ranks = [_validation_rank(result) for result in results]
    for result, (f1, agreement, loss) in zip(results, ranks, strict=True):
        family = result.document["estimator"]["family"]
        say(f"{family}: validation entry macro-F1 {f1:.4f}, bar agreement {agreement:.4f}, "
            f"log loss {-loss:.4f}")  # fmt: skip
    return results[ranks.index(max(ranks))]  # the first (linear) wins a full tie


def _validation_rank(result: TrainResult) -> tuple[float, float, float]:
    """Entry macro-F1, then bar agreement, then (negated) log loss of the bot's actions on
    the validation bars: few entries there make equal F1s common, and then the model that
    was surer of what the bot did is the better copy."""
    scores = result.validation
    loss = result.validation_log_loss or 0.0
    return scores["entry_macro_f1"], scores["bar_agreement"], -loss


def _result_line(
    history: BotHistory, family: str, scores: dict[str, Any], extra: dict[str, str] | None = None
) -> str:
    bot = history.bot
    fields = {
        "bot": f"{bot.get('account')}:{bot.get('magic')}",
        "family": family,
        "test_bars": scores["rows"],
        "entry_macro_f1": f"{scores['entry_macro_f1']:.4f}",
        "bar_agreement": f"{scores['bar_agreement']:.4f}",
    }
    for label, s in scores["per_class"].items():
        if label != "none":
            fields[f"{label}_precision"] = f"{s['precision']:.4f}"
            fields[f"{label}_recall"] = f"{s['recall']:.4f}"
            fields[f"{label}_support"] = s["support"]
    fields.update(extra or {})
    return "RESULT " + " ".join(f"{k}={v}" for k, v in fields.items())


def run_evaluate(settings: Settings, args: argparse.Namespace, say: Say) -> int:
    history = load_history(settings, args, say)
    data = build_dataset(history.bars, history.events, CANDIDATE_FEATURES)
    say(f"{len(history.bars)} bars, {len(history.events)} events, {len(data)} usable bars")
    if not getattr(args, "decisions", None):
        args, data = with_windows(args, history, data, say)
    if getattr(args, "decisions", None):
        from botcopier.trainers.decision_log import read_decision_log
        from botcopier.trainers.decision_scores import pair_decisions

        log = read_decision_log(args.decisions, args.server_utc_offset)
        paired = pair_decisions(data, history.bot["timeframe_minutes"], log.decisions)
        for problem in log.problems:
            say(f"unreadable: {problem}")
        say(f"{len(paired.said)} logged decisions on the bot's bars; "
            f"{len(paired.unmatched)} on no bar of its history")  # fmt: skip
        if not paired.said:
            raise NotEnoughDataError(f"no decision of {args.decisions} falls on the bot's bars")
        truth, said = paired.truth, paired.said
        scores, family = clone_scores(truth, said), "decisions"
    elif args.score_model:
        model = load_model(args.score_model)
        split = time_split(len(data), validation=0.0, test=args.test)
        test = data.rows(split.test)
        names = [f["name"] for f in model["features"]]
        missing = sorted(set(names) - set(FEATURES))
        if missing:
            raise NotEnoughDataError(f"the model uses features this botcopier lacks: {missing}")
        said = decide(model, predict_proba(model, test.features[names].to_numpy(float)))
        truth = list(test.labels)
        scores, family = clone_scores(truth, said), model["estimator"]["family"]
        say(f"model {model['name']} {model['version']} on the last {len(test)} bars")
    else:
        options = options_from(args, args.family or "auto")
        result = train_best(data, history.bot, "evaluate", options, say)
        if result.test is None:
            raise NotEnoughDataError("--test must leave bars to score")
        scores, family = result.test, result.document["estimator"]["family"]
        # The test rows train_clone scored, decided again for their timing.
        test = data.rows(time_split(len(data), validation=args.validation, test=args.test).test)
        names = [f["name"] for f in result.document["features"]]
        rows = test.features[names].to_numpy(float)
        said = decide(result.document, predict_proba(result.document, rows))
        truth = list(test.labels)
    timing = entry_timing(truth, said, window_bars=TIMING_WINDOW_BARS)
    for line in describe(scores) + describe_timing(timing):
        say(line)
    say(_result_line(history, family, scores, timing_fields(timing)))
    return 0


def _closes(settings: Settings, history: BotHistory, bars_path: Path | None):
    """Closes of every symbol the bot's EA sent bars of (Kafka) or the bars file holds."""
    timeframe = history.bot["timeframe_minutes"]
    if history.source == "kafka":
        ea_ids = {e.get("ea_id") for e in history.events}
        records, _ = read_to_end(
            settings,
            "market-data",
            lambda k, r: "timeframe_minutes" in r and r.get("ea_id") in ea_ids,
        )
        return closes_by_symbol(records, timeframe)
    from botcopier.bridge.simulator.market import read_bars_csv

    bars = read_bars_csv(
        bars_path, symbol=None if _has_symbols(bars_path) else history.bot["symbol"]
    )
    return closes_by_symbol(
        [{"symbol": b.symbol, "event_time_ms": b.time_ms, "timeframe_minutes": b.timeframe_minutes,
          "close": b.close} for b in bars],
        timeframe,
    )  # fmt: skip


def _has_symbols(path: Path) -> bool:
    with open(path, encoding="utf-8-sig") as handle:
        return "symbol" in handle.readline().lower()


def _previous_model(out: Path, name: str, explicit: Path | None) -> dict[str, Any]:
    if explicit:
        return load_model(explicit)
    candidates = sorted(out.glob(f"{name}-*.model.json"))
    if not candidates:
        raise NotEnoughDataError(f"--incremental: no {name}-*.model.json in {out} to continue")
    return load_model(candidates[-1])


def run_train(settings: Settings, args: argparse.Namespace, say: Say) -> int:
    if getattr(args, "lite_mode", False) or lite_by_machine(args, say):
        if args.train_until or args.test_from:
            raise NotEnoughDataError(
                "--train-until and --test-from cut the batch trainer's bars; the lite trainer "
                "streams them and splits by --validation and --test shares only"
            )
        from botcopier.trainers.lite import run_train_lite

        return run_train_lite(settings, args, say)
    started = time.monotonic()
    history = load_history(settings, args, say)
    bot = history.bot
    name = args.name or clone_model_name(bot.get("account"), bot.get("magic"))
    out = args.out or settings.paths.state_dir / "models"
    if getattr(args, "cache_features", False):
        from botcopier.trainers.feature_cache import cached_dataset

        cache = settings.paths.state_dir / "feature-cache"
        data = cached_dataset(history.bars, history.events, cache_dir=cache, progress=say)
    else:
        data = build_dataset(history.bars, history.events, CANDIDATE_FEATURES)
    say(f"{len(history.bars)} bars, {len(history.events)} events, {len(data)} usable bars")
    extra: dict[str, Any] = {}
    previous = None
    if args.incremental:
        previous = _previous_model(out, name, args.previous)
        after = data.time_ms > previous["training"]["until_ms"]
        kept = [f["name"] for f in previous["features"]]  # a continued model keeps its features
        data = Dataset(
            data.features.loc[after, kept].reset_index(drop=True),
            data.labels[after].reset_index(drop=True),
            data.time_ms[after].reset_index(drop=True),
        )
        say(f"continuing {previous['version']}: {len(data)} bars after its training data")
        extra["previous"] = previous
    args, data = with_windows(args, history, data, say)
    family = args.family or (previous["estimator"]["family"] if previous else "auto")
    profile, options = machine_mode(args, options_from(args, family), say)
    data, weights, weight_summary = review_weights(args, data, bot["timeframe_minutes"], say)
    training = {
        "offsets": history.offsets,
        "last_event_id": history.last_event_id,
        "source": history.source,
        "sample_weights": weight_summary,
    }
    document_extra: dict[str, Any] = {
        "mode": profile["mode"],
        "feature_flags": profile["feature_flags"],
    }
    if args.risk_parity:
        document_extra["risk_parity"] = risk_parity_section(
            _closes(settings, history, args.bars), say
        )
    extra.update(
        training_extra=training,
        document_extra=document_extra,
        sample_weight=weights,
        post_fit=stops_section(history, say) if args.regress_sl_tp else None,
    )
    if args.search:
        from botcopier.trainers.search import search_clone

        say(f"searching {args.search} trials (Optuna) by validation entry macro-F1")
        if previous is None:
            data = with_selected_features(data, options, say)
        result = search_clone(data, bot, name, options, trials=args.search, say=say, **extra)
    else:
        result = train_best(data, bot, name, options, say, **extra)
    for warning in result.warnings:
        say(f"warning: {warning}")
    path = save_model(result.document, out / f"{name}-{result.document['version']}.model.json")
    if args.search:
        summary = path.with_name(path.name.replace(".model.json", ".search.json"))
        summary.write_text(json.dumps(result.document["training"]["search"], indent=1))
        say(f"search summary: {summary}")
    say("validation: " + ", ".join(describe(result.validation)[1:3]).replace("  ", " "))
    if result.test:
        for line in describe(result.test):
            say(f"test: {line}")
    say(f"wrote {path} in {time.monotonic() - started:.1f} s")
    floor = settings.retrainer.min_score
    scored = result.test or result.validation
    if scored["entry_macro_f1"] < floor:
        say(f"BELOW THE FLOOR: {'test' if result.test else 'validation'} entry macro-F1 "
            f"{scored['entry_macro_f1']:.4f} < {floor:.4f} (BOTCOPIER_RETRAINER__MIN_SCORE): "
            "this clone does not copy its bot; the retrainer would not publish it")  # fmt: skip
    if result.validation["entry_macro_f1"] < 0.9 and family == "linear":
        say("hint: a linear model cannot express rules like 'flat and RSI < 30': try --model auto")
    return 0
