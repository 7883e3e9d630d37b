"""Lite mode: a linear clone trained in bounded memory from bars that arrive in chunks.

For histories too long to hold as one table (years of M1 bars), or machines too small for
them (`botcopier.trainers.hardware`'s ``lite`` mode). The chunks (``batch_rows`` lines of a
CSV at a time, or slices of a frame) are read twice:

1. statistics over the training rows: the scaler's means and variances (merged chunk by
   chunk, Chan et al.), the class counts, and a fixed-size reservoir sample of the rows for
   the feature distributions;
2. fit and score: training rows, standardised, in batches of ``batch_rows``: `fit_linear` on
   the first, `continue_linear` (mini-batch softmax SGD from the stored weights) on each next.
   Thresholds are tuned on the first ``tune_rows`` validation rows (all of them when there
   are fewer, as the batch trainer does); then every validation and test row is decided and
   counted in a confusion matrix, whose figures are exactly `clone_scores` of those rows.

Each chunk is computed with the `warmup` bars before it as context and labelled with the
events before the next bar's close (so an event on the chunk's last bar is not missed and
none of the next bar's is taken): its rows are those `build_dataset` makes of the whole
history, with the same labels and positions and the same feature values (EMAs and Wilder's
RSI, recursive, agree to within their seed's decay, 1e-9 relative, which is what their
warm-up means; every other feature bit for bit).

The split is by position over the ``total_rows - warmup`` bars past the warm-up
(``total_rows`` is known up front: counting a CSV's lines is cheap); a bar with a missing
feature past the warm-up (none on sane prices) is skipped and reported. In memory: two
chunks and the context, one batch, the two samples (``sample_rows``, ``tune_rows``), counts,
and of the events those of the chunk and the opening events of the positions still open
when they are streamed (a callable giving them in time order), or all of them as a list.
`botcopier train --lite-mode` reads ``--bars`` in chunks and streams ``--events`` JSON lines
when they are in time order (else, and for CSV events, reads them whole); a Kafka history is
read as usual (whole) and then fed in chunks (`lite_files`; the running statistics are in
`lite_stats`). Not in lite mode: tree families, pruning,
``--incremental``, review weights, stop regressors, risk parity.

Examples
--------
A clone of the simulator's moving-average cross bot, from chunks of 250 bars:

>>> import dataclasses
>>> from botcopier.bridge.simulator import MovingAverageCrossBot, random_walk_bars
>>> walk = list(random_walk_bars("EURUSD", start_ms=0, count=1_500, seed=3))
>>> bot = MovingAverageCrossBot("EURUSD")
>>> events = [{**a, "event_time_ms": a["close_time_ms"] or b.end_ms}
...           for b in walk for a in bot.on_bar(b)]
>>> bars = pd.DataFrame(map(dataclasses.asdict, walk))
>>> chart = {"symbol": "EURUSD", "timeframe_minutes": 60}
>>> result = train_lite(frame_chunks(bars, 250), events, chart, "demo", total_rows=len(bars),
...                     batch_rows=300)
>>> result.document["mode"], result.document["training"]["batches"], result.test["rows"]
('lite', 3, 359)
>>> result.test["entry_macro_f1"] > 0.9
True
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.trainers.batch import TrainResult
from botcopier.trainers.dataset import NotEnoughDataError, time_split
from botcopier.trainers.features import DEFAULT_FEATURES, Feature, feature_matrix, warmup
from botcopier.trainers.hardware import feature_flags
from botcopier.trainers.labels import LABELS, label_bars
from botcopier.trainers.linear_family import continue_linear, fit_linear, linear_importance
from botcopier.trainers.lite_files import Events, count_bars, file_events, read_bar_chunks
from botcopier.trainers.lite_stats import Reservoir, RunningMoments, StreamingScores, label_codes
from botcopier.trainers.model_document import (
    FORMAT,
    FORMAT_VERSION,
    feature_distributions,
    model_version,
    save_model,
    validate_model,
)
from botcopier.trainers.model_eval import decide, predict_proba
from botcopier.trainers.scores import describe
from botcopier.trainers.thresholds import tune_thresholds

Chunks = Callable[[], Iterable[pd.DataFrame]]  # called once per pass: a fresh iterator each
_MINUTE_MS = 60_000


class LiteModeError(BotCopierError):
    """An option lite mode does not offer (LightGBM, pruning, continuing a model)."""


@dataclass(frozen=True)
class RowBlock:
    """The usable rows of one chunk: ``index`` is each one's position past the warm-up."""

    index: np.ndarray
    x: np.ndarray
    labels: np.ndarray
    time_ms: np.ndarray

    def within(self, rows: range) -> RowBlock:
        keep = (self.index >= rows.start) & (self.index < rows.stop)
        return RowBlock(self.index[keep], self.x[keep], self.labels[keep], self.time_ms[keep])

    def head(self, n: int) -> tuple[RowBlock, RowBlock]:
        def part(s: slice) -> RowBlock:
            return RowBlock(self.index[s], self.x[s], self.labels[s], self.time_ms[s])

        return part(slice(None, n)), part(slice(n, None))


class ChunkedFeatures:
    """Features and labels of a history whose bars come in chunks, as `build_dataset`'s rows.

    Each chunk is labelled with the events of its bars and its context's, plus, for what
    came before, the opening event of each position still open then: all `label_bars` needs
    to know what the bot held (a book of open tickets). So labelling a chunk costs the same
    however long the history before it, and ``events`` may be a callable giving them afresh
    for each `rows` call, in time order, read as the bars advance (memory: the chunk's
    events and the open positions). ``bars`` and ``skipped`` count what the last `rows` call
    saw.
    """

    def __init__(self, events: Events, features: tuple[Feature, ...] = DEFAULT_FEATURES) -> None:
        if callable(events):
            self._events = events
        else:
            # A stable sort: events at one time keep their order, as label_bars keeps it.
            ordered = sorted(events, key=lambda e: e["event_time_ms"])
            self._events = lambda: ordered
        self.features = features
        self.warmup = warmup(features)
        self.bars = self.skipped = 0

    def rows(self, chunks: Iterable[pd.DataFrame]) -> Iterator[RowBlock]:
        self.bars = self.skipped = 0
        events = _in_time_order(self._events())
        ahead = next(events, None)
        context, still_open, recent = None, {}, []  # recent: not folded into still_open yet
        for chunk, next_end_ms in _with_next_end(chunks):
            frame = chunk if context is None else pd.concat([context, chunk], ignore_index=True)
            while ahead is not None and (
                next_end_ms is None or ahead["event_time_ms"] < next_end_ms
            ):
                recent.append(ahead)
                ahead = next(events, None)
            # Events before the frame's first close come before all its bars' decisions.
            first_end_ms = int(frame["time_ms"].iloc[0]) + _duration_ms(frame.iloc[0])
            folded = 0
            while folded < len(recent) and recent[folded]["event_time_ms"] < first_end_ms:
                _hold(still_open, recent[folded])
                folded += 1
            recent = recent[folded:]
            labelled = label_bars(frame, [*still_open.values(), *recent])
            matrix = feature_matrix(frame.assign(position=labelled["position"]), self.features)
            own = slice(len(frame) - len(chunk), None)
            x = matrix.to_numpy(float)[own]
            index = np.arange(self.bars, self.bars + len(chunk)) - self.warmup
            self.bars += len(chunk)
            context = frame.iloc[max(len(frame) - self.warmup, 0) :]
            keep = (index >= 0) & ~np.isnan(x).any(axis=1)
            self.skipped += int(np.count_nonzero((index >= 0) & ~keep))
            if keep.any():
                yield RowBlock(
                    index[keep],
                    x[keep],
                    labelled["label"].to_numpy(object)[own][keep],
                    frame["time_ms"].to_numpy(np.int64)[own][keep],
                )


def _in_time_order(events: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    last_ms = None
    for number, event in enumerate(events, 1):
        if last_ms is not None and event["event_time_ms"] < last_ms:
            raise LiteModeError(
                f"event {number} ({event['event_time_ms']}) is earlier than the one before it "
                f"({last_ms}): streamed events must come in time order"
            )
        last_ms = event["event_time_ms"]
        yield event


def _hold(still_open: dict[Any, Mapping[str, Any]], event: Mapping[str, Any]) -> None:
    """Keep the opening event of each market position still open (`label_bars`' book: an OPEN
    holds its ticket, a CLOSE, partial or not, releases it; pending orders hold nothing)."""
    if event.get("order_type") not in ("BUY", "SELL"):
        return
    if event["action"] == "OPEN":
        still_open[event["ticket"]] = event
    elif event["action"] == "CLOSE":
        still_open.pop(event["ticket"], None)


def _duration_ms(bar: pd.Series) -> int:
    return int(bar["timeframe_minutes"]) * _MINUTE_MS


def _with_next_end(chunks: Iterable[pd.DataFrame]) -> Iterator[tuple[pd.DataFrame, int | None]]:
    """Each non-empty chunk with the close time of the bar after it (None for the last): the
    events before it are the chunk's, those after belong to later bars."""
    current = None
    for chunk in chunks:
        if not len(chunk):
            continue
        chunk = chunk.reset_index(drop=True)
        if current is not None:
            first = chunk.iloc[0]
            yield current, int(first["time_ms"]) + _duration_ms(first)
        current = chunk
    if current is not None:
        yield current, None


def frame_chunks(bars: pd.DataFrame, rows: int) -> Chunks:
    """Chunks of ``rows`` bars of a frame already in memory (a Kafka history, a test)."""
    return lambda: (bars.iloc[start : start + rows] for start in range(0, len(bars), rows))


class _Progress:
    """One line per tenth of the bars a pass has been through."""

    def __init__(self, what: str, total_rows: int, say: Callable[[str], None]) -> None:
        self._what, self._total, self._say = what, max(total_rows, 1), say
        self._next = 0.1
        self._started = time.monotonic()

    def __call__(self, bars: int) -> None:
        if bars / self._total + 1e-12 >= self._next:
            seconds = time.monotonic() - self._started
            self._say(f"{self._what}: {bars:,} of {self._total:,} bars ({seconds:.1f} s)")
            self._next = np.floor(bars / self._total * 10 + 1e-9) / 10 + 0.1


@dataclass(frozen=True)
class _Statistics:
    moments: RunningMoments
    class_counts: dict[str, int]
    sample: np.ndarray
    from_ms: int


def _first_pass(
    stream: ChunkedFeatures, chunks: Chunks, train: range, sample_rows: int, seed: int, progress
) -> _Statistics:
    width = len(stream.features)
    moments, reservoir = RunningMoments(width), Reservoir(sample_rows, width, seed)
    counts = np.zeros(len(LABELS), dtype=np.int64)
    from_ms = None
    for block in stream.rows(chunks()):
        rows = block.within(train)
        if len(rows.index):
            moments.update(rows.x)
            reservoir.update(rows.x)
            counts += np.bincount(label_codes(rows.labels), minlength=len(LABELS))
            from_ms = int(rows.time_ms[0]) if from_ms is None else from_ms
        progress(stream.bars)
    if from_ms is None:
        raise NotEnoughDataError("no training rows: every bar before the split is unusable")
    class_counts = {label: int(n) for label, n in zip(LABELS, counts, strict=True)}
    return _Statistics(moments, class_counts, reservoir.sample(), from_ms)


class _Fitter:
    """Training rows in batches: `fit_linear` on the first, `continue_linear` on each next."""

    def __init__(self, scaler, weights: np.ndarray, batch_rows: int, c: float, seed: int):
        self._mean, self._scale = np.asarray(scaler["mean"]), np.asarray(scaler["scale"])
        self._weights, self._batch_rows, self._c, self._seed = weights, batch_rows, c, seed
        self._z: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._pending = 0
        self.estimator: dict[str, Any] | None = None
        self.batches = 0
        self.abs_z = np.zeros(len(self._mean))  # sum of |z|: the importance's mean |z|
        self.rows = 0

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        z = (x - self._mean) / self._scale
        self.abs_z += np.abs(z).sum(axis=0)
        self.rows += len(z)
        self._z.append(z)
        self._y.append(y)
        self._pending += len(z)
        while self._pending >= self._batch_rows:
            z, y = np.concatenate(self._z), np.concatenate(self._y)
            self._step(z[: self._batch_rows], y[: self._batch_rows])
            self._z, self._y = [z[self._batch_rows :]], [y[self._batch_rows :]]
            self._pending = len(self._z[0])

    def finish(self) -> dict[str, Any]:
        if self._pending:
            self._step(np.concatenate(self._z), np.concatenate(self._y))
            self._z, self._y, self._pending = [], [], 0
        if self.estimator is None:
            raise NotEnoughDataError("no training rows to fit")
        return self.estimator

    def _step(self, z: np.ndarray, y: np.ndarray) -> None:
        weights = self._weights[y]
        if self.estimator is None and len(np.unique(y)) > 1:
            self.estimator = fit_linear(z, y, len(self._weights), weights, c=self._c)
        else:
            # A first batch of one class cannot start a logistic regression: start from zero.
            start = self.estimator or {
                "family": "linear",
                "coefficients": np.zeros((len(self._weights), z.shape[1])).tolist(),
                "intercepts": [0.0] * len(self._weights),
            }
            self.estimator = continue_linear(start, z, y, weights, seed=self._seed + self.batches)
        self.batches += 1


class _Scorer:
    """Validation and test rows: thresholds tuned on the first ``tune_rows`` validation rows,
    then every row decided with them and counted."""

    def __init__(self, model: dict[str, Any], tune_rows: int, tune: bool) -> None:
        self.model, self._tune_rows, self._tune = model, tune_rows, tune
        self._proba: list[np.ndarray] = []
        self._truth: list[np.ndarray] = []
        self.tuned_on = 0
        self.settled = False
        self.validation, self.test = StreamingScores(), StreamingScores()

    def add_validation(self, rows: RowBlock) -> None:
        if not self.settled:
            head, rows = rows.head(self._tune_rows - self.tuned_on)
            self._proba.append(predict_proba(self.model, head.x))
            self._truth.append(head.labels)
            self.tuned_on += len(head.labels)
            if self.tuned_on >= self._tune_rows:
                self.settle()
        if len(rows.labels):
            self.validation.update(
                rows.labels, decide(self.model, predict_proba(self.model, rows.x))
            )

    def add_test(self, rows: RowBlock) -> None:
        self.settle()
        self.test.update(rows.labels, decide(self.model, predict_proba(self.model, rows.x)))

    def settle(self) -> None:
        if self.settled:
            return
        if not self.tuned_on:
            raise NotEnoughDataError("no validation rows to tune thresholds and score on")
        proba, truth = np.concatenate(self._proba), np.concatenate(self._truth)
        if self._tune:
            self.model["thresholds"] = tune_thresholds(self.model["classes"], proba, list(truth))
        self.validation.update(truth, decide(self.model, proba))
        self._proba, self._truth, self.settled = [], [], True


def _second_pass(stream, chunks: Chunks, split, fitter: _Fitter, model, scorer: _Scorer, progress):
    classes = model["classes"]
    until_ms = None
    for block in stream.rows(chunks()):
        train = block.within(split.train)
        if len(train.index):
            fitter.add(train.x, pd.Index(classes).get_indexer(train.labels))
        rest = block.within(range(split.validation.start, split.test.stop))
        if len(rest.index) and model["estimator"] is None:
            model["estimator"] = fitter.finish()
        valid = block.within(split.validation)
        if len(valid.index):
            scorer.add_validation(valid)
            until_ms = int(valid.time_ms[-1])
        test = block.within(split.test)
        if len(test.index):
            scorer.add_test(test)
        progress(stream.bars)
    if model["estimator"] is None:
        model["estimator"] = fitter.finish()
    scorer.settle()
    return until_ms


def train_lite(
    chunks: Chunks,
    events: Events,
    bot: Mapping[str, Any],
    name: str,
    *,
    total_rows: int,
    features: tuple[Feature, ...] = DEFAULT_FEATURES,
    batch_rows: int = 50_000,
    validation: float = 0.15,
    test: float = 0.3,
    tune_rows: int = 50_000,
    sample_rows: int = 50_000,
    class_weight: bool = True,
    tune: bool = True,
    c: float = 1.0,
    seed: int = 0,
    min_rows: int = 200,
    training_extra: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> TrainResult:
    """A linear clone's checked model.json from a history streamed twice as bar chunks.

    Parameters
    ----------
    chunks
        Called once per pass; each call returns the bars again, oldest first, in frames of
        the Bar columns (``time_ms``, ``timeframe_minutes``, OHLC, ``spread_points``).
    events
        The bot's trade events (as `label_bars` takes them); or, to stream them too, a
        callable giving them in time order, once per pass.
    total_rows
        How many bars the chunks hold: the split is cut by position before reading them.
    batch_rows, tune_rows, sample_rows
        Rows per fitting batch; validation rows thresholds are tuned on; rows sampled for the
        feature distributions. Together with the chunk size they bound the memory used.
    """
    if validation <= 0:
        raise LiteModeError("lite mode tunes and scores on validation rows: validation > 0")
    if batch_rows < 1 or tune_rows < 1 or sample_rows < 1:
        raise ValueError("batch_rows, tune_rows and sample_rows must be >= 1")
    stream = ChunkedFeatures(events, features)
    rows = total_rows - stream.warmup
    if rows < min_rows:
        raise NotEnoughDataError(
            f"{max(rows, 0)} bars after a warm-up of {stream.warmup} (of {total_rows} bars); "
            f"at least {min_rows} are needed"
        )
    split = time_split(rows, validation=validation, test=test)
    pass1 = _Progress("lite pass 1/2 (scaler, class counts)", total_rows, progress)
    stats = _first_pass(stream, chunks, split.train, sample_rows, seed, pass1)
    if stream.bars != total_rows:
        raise NotEnoughDataError(
            f"the chunks held {stream.bars} bars, not the {total_rows} the split was cut for"
        )
    warnings = []
    if stream.skipped:
        warnings.append(f"{stream.skipped} bars past the warm-up had a missing feature: skipped")
    counts = stats.class_counts
    classes = [label for label in LABELS if label == "none" or counts[label]]
    if len(classes) < 2:
        raise NotEnoughDataError(
            f"the bot made no decision in the {stats.moments.count} training bars: nothing to clone"
        )
    std = stats.moments.std()
    scaler = {
        "mean": stats.moments.mean.tolist(),
        "scale": np.where(std > 1e-12, std, 1.0).tolist(),
    }
    present = np.array([max(counts[label], 1) for label in classes], dtype=float)
    weights = stats.moments.count / (len(classes) * present)
    fitter = _Fitter(
        scaler, weights if class_weight else np.ones(len(classes)), batch_rows, c, seed
    )
    names = [f.name for f in features]
    model = {
        "classes": classes,
        "scaler": scaler,
        "estimator": None,
        "thresholds": dict.fromkeys(classes[1:], 0.5),
    }
    scorer = _Scorer(model, tune_rows, tune)
    pass2 = _Progress(
        f"lite pass 2/2 (fit in batches of {batch_rows:,}, score)", total_rows, progress
    )
    until_ms = _second_pass(stream, chunks, split, fitter, model, scorer, pass2)
    estimator = {
        **model["estimator"],
        "learner": f"sklearn LogisticRegression(C={c}) on the first batch + softmax SGD "
        f"on {fitter.batches - 1} more (lite mode)",
    }
    mean_abs_z = fitter.abs_z / max(fitter.rows, 1)
    validation_scores, test_scores = scorer.validation.get(), scorer.test.get()
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": "pending",
        "created_ms": int(time.time() * 1000),
        "bot": dict(bot),
        "classes": classes,
        "features": [
            {"name": f.name, "mql4": f.mql4, "warmup": f.warmup, "doc": f.doc} for f in features
        ],
        "scaler": scaler,
        "estimator": estimator,
        "thresholds": model["thresholds"],
        "feature_distributions": feature_distributions(
            {n: stats.sample[:, i] for i, n in enumerate(names)}
        ),
        "importance": {
            "method": "mean |coefficient x z|",
            "values": dict(
                zip(names, linear_importance(estimator, mean_abs_z[None, :]).tolist(), strict=True)
            ),
        },
        "mode": "lite",
        "feature_flags": feature_flags("lite"),
        "stops": None,
        "risk_parity": None,
        "metrics": {"validation": validation_scores, "test": test_scores},
        "training": {
            "from_ms": stats.from_ms,
            "until_ms": until_ms,
            "rows": stats.moments.count,
            "class_counts": {label: counts[label] for label in classes},
            "incremental_of": None,
            "pruned": [],
            "lite": True,
            "batch_rows": batch_rows,
            "batches": fitter.batches,
            "threshold_rows": scorer.tuned_on,
            "distribution_sample_rows": len(stats.sample),
            **(training_extra or {}),
        },
    }
    content = {k: v for k, v in document.items() if k not in ("version", "created_ms")}
    document["version"] = model_version(document["created_ms"], content)
    return TrainResult(validate_model(document), validation_scores, test_scores, warnings)


def lite_refusals(args: argparse.Namespace) -> list[str]:
    """The options given that lite mode cannot honour (they need the whole history)."""
    refused = {
        f"--model {args.family}": args.family not in (None, "linear"),
        "--incremental": args.incremental,
        "--prune-threshold": args.prune_threshold is not None,
        "--search": getattr(args, "search", None),
        "--cache-features": getattr(args, "cache_features", False),
        "--uncertain-file": getattr(args, "uncertain_file", None),
        "--replay-file": getattr(args, "replay_file", None),
        "--regress-sl-tp": getattr(args, "regress_sl_tp", False),
        "--risk-parity": getattr(args, "risk_parity", False),
    }
    return [flag for flag, given in refused.items() if given]


def run_train_lite(settings: Settings, args: argparse.Namespace, say: Callable[[str], None]):
    """`botcopier train --lite-mode`: `train_lite` from ``--bars``/``--events`` (the CSV read
    ``--batch-rows`` lines at a time) or from Kafka (read whole, then fed in chunks)."""
    from botcopier.names import clone_model_name
    from botcopier.trainers.train_command import load_history

    started = time.monotonic()
    refused = lite_refusals(args)
    if refused:
        raise LiteModeError(
            f"--lite-mode trains a new linear model from streamed bars: drop {', '.join(refused)}"
        )
    batch_rows = args.batch_rows
    if batch_rows < 1:
        raise LiteModeError("--batch-rows must be at least 1")
    if args.bars or args.events:
        if not (args.bars and args.events):
            raise NotEnoughDataError("--bars and --events go together")
        events, bot, count, last_id = file_events(args, say)
        if not count:
            raise NotEnoughDataError(f"no trade events of the bot in {args.events}")
        bars_path, symbol = Path(args.bars), bot["symbol"]

        def chunks() -> Iterator[pd.DataFrame]:
            return read_bar_chunks(
                bars_path, symbol=symbol, timeframe_minutes=args.timeframe, chunk_rows=batch_rows
            )

        first = next(chunks(), None)
        if first is None:
            raise NotEnoughDataError(f"no {symbol} bars in {bars_path}")
        bot["timeframe_minutes"] = int(first["timeframe_minutes"].iloc[0])
        say(f"counting the {symbol} bars of {bars_path}")
        total = count_bars(bars_path, symbol)
        training = {
            "offsets": None,
            "last_event_id": last_id,
            "source": f"files {bars_path.name} + {Path(args.events).name} (streamed)",
        }
    else:
        history = load_history(settings, args, say)
        events, bot, total = history.events, history.bot, len(history.bars)
        count = len(events)
        chunks = frame_chunks(history.bars, batch_rows)
        training = {
            "offsets": history.offsets,
            "last_event_id": history.last_event_id,
            "source": history.source,
        }
    say(f"{total:,} bars, {count:,} events; lite mode, batches of {batch_rows:,} rows")
    name = args.name or clone_model_name(bot.get("account"), bot.get("magic"))
    result = train_lite(
        chunks,
        events,
        bot,
        name,
        total_rows=total,
        batch_rows=batch_rows,
        validation=args.validation,
        test=args.test,
        class_weight=not args.no_class_weight,
        tune=not args.no_threshold_tuning,
        seed=args.seed,
        training_extra=training,
        progress=say,
    )
    for warning in result.warnings:
        say(f"warning: {warning}")
    out = args.out or settings.paths.state_dir / "models"
    path = save_model(result.document, out / f"{name}-{result.document['version']}.model.json")
    say("validation: " + ", ".join(describe(result.validation)[1:3]).replace("  ", " "))
    for line in describe(result.test):
        say(f"test: {line}")
    say(f"wrote {path} in {time.monotonic() - started:.1f} s")
    return 0
