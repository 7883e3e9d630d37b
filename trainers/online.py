"""River online learner of one bot: prequential (predict, then learn), one bar at a time.

`OnlineClone` follows one bot on one chart (symbol, timeframe). Feed it the chart's bars and
the bot's trade events in event-time order (`observe_bar`, `observe_event`). Each bar whose
label is final is first predicted and scored, then learned (`learn_one`): every score is
that of a model that had not seen the bar, and `snapshot` turns the model at any moment into
a model.json document of the linear family that the EA loads.

When a bar is final. `botcopier.trainers.labels` places an event on the last bar that had
closed at its time, so bar i's decisions have times in [end of bar i, end of bar i+1). Its
label is final once bar i+1 is known and something at or after bar i+1's end has been seen
(live: the record of the bar after next, or any later event); its position feature too (stop
fills stamped at the bar's close count). A live clone learns each bar two bars late.

Bounded memory. It keeps the last ``window_bars`` final bars (default: the features'
warm-up + 64; each bar's features are the last row of `feature_matrix` over them), the
events of the bars not yet final, the opening event of each position still open (from which
`label_bars` knows what the bot holds, however old the position), and the last
``metrics_window`` feature rows and decisions.

The model: ``StandardScaler | intercept input | SoftmaxRegression`` (River), over the four
classes none/buy/sell/close from the first bar on, so River's softmax and the document's
agree. River's softmax regression has no intercept: an input fixed at 1, added after scaling,
plays it. "none" is ~95% of the bars; each bar's gradient is weighted by its class's balanced
weight (bars / (classes seen x bars of its class), running counts, as the batch trainer
weighs) capped at ``max_class_weight`` (2): uncapped (~30 for a bot acting once in 60 bars)
the clone enters on every hint and accuracy falls to 0.6-0.7 on the simulator's bots; capped
at 2 their prequential entry macro-F1 ends highest with Adam(0.003).

Decisions are the EA's: the most probable action at or above its threshold (0.5), else none.

Examples
--------
>>> clone = OnlineClone("EURUSD", 60)
>>> x = {name: 0.0 for name in clone.feature_names}
>>> clone.predict_one(x), round(clone.predict_proba_one(x)["none"], 2)
('none', 0.25)
>>> for _ in range(200):
...     clone.learn_one({**x, "rsi_14": 20.0}, "buy")
...     clone.learn_one({**x, "rsi_14": 50.0}, "none")
>>> clone.predict_one({**x, "rsi_14": 20.0}), clone.predict_one({**x, "rsi_14": 50.0})
('buy', 'none')
>>> round(clone.predict_proba_one({**x, "rsi_14": 20.0})["buy"], 3)
0.723
>>> clone.window_bars  # bars kept: the features' warm-up + 64
368
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections import Counter, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from river import compose, linear_model, optim, preprocessing

from botcopier.trainers.dataset import NotEnoughDataError
from botcopier.trainers.features import DEFAULT_FEATURES, Feature, feature_matrix, warmup
from botcopier.trainers.labels import LABELS, label_bars
from botcopier.trainers.linear_family import linear_importance
from botcopier.trainers.model_document import (
    FORMAT,
    FORMAT_VERSION,
    feature_distributions,
    model_version,
    validate_model,
)
from botcopier.trainers.model_eval import decide
from botcopier.trainers.online_scores import PrequentialScores

CLASSES: tuple[str, ...] = LABELS  # "none" first, as model.json requires
INTERCEPT = "_intercept"  # not a feature name (they start with a letter)
_MINUTE_MS = 60_000
_BAR_FIELDS = ("time_ms", "timeframe_minutes", "open", "high", "low", "close", "spread_points")


class SampleWeightedCrossEntropy(optim.losses.CrossEntropy):
    """Cross entropy whose gradient is scaled by ``sample_weight`` (set before each step).

    River's ``class_weight`` scales each output's gradient by that output's class; weighting
    a bar by its true class needs every output's gradient scaled alike.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sample_weight = 1.0

    def gradient(self, y_true: Any, y_pred: Any) -> Any:
        raw = super().gradient(y_true, y_pred)
        return {label: self.sample_weight * g for label, g in raw.items()}


def with_intercept(z: dict[str, float]) -> dict[str, float]:
    """The scaled inputs and a constant 1, whose weights are the classes' intercepts."""
    return {**z, INTERCEPT: 1.0}


@dataclass(frozen=True)
class Step:
    """One final bar, scored as predicted before it was learned."""

    time_ms: int  # the bar's open time
    label: str  # what the bot did
    said: str  # what the clone would have done
    proba: dict[str, float]
    x: dict[str, float]  # the bar's features


def default_window_bars(features: tuple[Feature, ...] = DEFAULT_FEATURES) -> int:
    """Bars a clone keeps: the features' warm-up and 64 more."""
    return warmup(features) + 64


def _end_ms(bar: Mapping[str, Any]) -> int:
    return int(bar["time_ms"]) + int(bar["timeframe_minutes"]) * _MINUTE_MS


class OnlineClone:
    """A River clone of one bot on one chart, learning prequentially from its stream.

    Parameters
    ----------
    symbol, timeframe_minutes
        The bot's chart: bars and events of other symbols or timeframes are ignored.
    features
        Inputs, in the order of the model.json columns.
    window_bars
        Final bars kept for the features (more than their warm-up).
    metrics_window
        Bars of the rolling scores, of a snapshot's scores and feature distributions.
    learning_rate
        Adam's step size.
    max_class_weight
        Cap of the balanced class weight of a bar.
    l2
        L2 penalty of the softmax regression.
    """

    def __init__(
        self,
        symbol: str,
        timeframe_minutes: int,
        *,
        features: tuple[Feature, ...] = DEFAULT_FEATURES,
        window_bars: int | None = None,
        metrics_window: int = 500,
        learning_rate: float = 0.003,
        max_class_weight: float = 2.0,
        l2: float = 0.0,
    ) -> None:
        self.symbol, self.timeframe_minutes = symbol, int(timeframe_minutes)
        self.features = features
        self.feature_names = [f.name for f in features]
        self.window_bars = window_bars or default_window_bars(features)
        if self.window_bars <= warmup(features):
            raise ValueError(f"window_bars must exceed the features' warm-up {warmup(features)}")
        self.learning_rate, self.max_class_weight = learning_rate, max_class_weight
        self.thresholds = dict.fromkeys(CLASSES[1:], 0.5)
        self.scaler = preprocessing.StandardScaler()
        self.loss = SampleWeightedCrossEntropy()
        self.softmax = linear_model.SoftmaxRegression(
            optimizer=optim.Adam(learning_rate), loss=self.loss, l2=l2
        )
        for label in CLASSES:  # every class from the start, each with zero weights
            self.softmax.weights[label] = defaultdict(float)
        self.model = self.scaler | compose.FuncTransformer(with_intercept) | self.softmax
        self.class_counts: Counter[str] = Counter()
        self.scores = PrequentialScores(metrics_window)
        self.window: deque[dict[str, Any]] = deque(maxlen=self.window_bars)
        self.recent_rows: deque[np.ndarray] = deque(maxlen=metrics_window)
        self._unsettled: list[dict[str, Any]] = []  # at most two: the bar and the next one
        self._events: list[tuple[int, int, dict[str, Any]]] = []  # (time, arrival, event)
        self._arrivals = itertools.count()
        self._holding: dict[Any, dict[str, Any]] = {}  # ticket -> the OPEN of a live position
        self._settled_until_ms: int | None = None
        self.watermark_ms: int | None = None
        self.bars_seen = self.events_seen = self.late_events = self.stale_bars = 0
        self.skipped_bars = 0  # final bars whose features were not all finite
        self.first_learned_ms: int | None = None
        self.last_learned_ms: int | None = None

    @property
    def pending_events(self) -> int:
        """Events kept for bars not yet final."""
        return len(self._events)

    @property
    def open_positions(self) -> int:
        """Positions the bot holds (their opening events are kept)."""
        return len(self._holding)

    # River's face: one feature dict at a time.

    def predict_proba_one(self, x: Mapping[str, float]) -> dict[str, float]:
        return self.model.predict_proba_one(dict(x))

    def predict_one(self, x: Mapping[str, float]) -> str:
        """What the EA would do: the most probable action at or above its threshold."""
        return self._decide(self.predict_proba_one(x))

    def _decide(self, proba: Mapping[str, float]) -> str:
        doc = {"classes": CLASSES, "thresholds": self.thresholds}
        return decide(doc, np.array([[proba[label] for label in CLASSES]]))[0]

    def learn_one(self, x: Mapping[str, float], y: str) -> None:
        if y not in CLASSES:
            raise ValueError(f"unknown label {y!r}; expected one of {CLASSES}")
        self.class_counts[y] += 1
        balanced = self.class_counts.total() / (len(self.class_counts) * self.class_counts[y])
        self.loss.sample_weight = min(self.max_class_weight, balanced)
        self.model.learn_one(dict(x), y)

    # The stream's face: bars and trade events in event-time order.

    def observe_bar(self, bar: Mapping[str, Any]) -> list[Step]:
        """Take one bar (a Bar record or a frame row); returns the bars it made final."""
        if bar.get("symbol", self.symbol) != self.symbol:
            return []
        if int(bar["timeframe_minutes"]) != self.timeframe_minutes:
            return []
        row = {**bar, "time_ms": int(bar["time_ms"] if "time_ms" in bar else bar["event_time_ms"])}
        last = (
            self._unsettled[-1] if self._unsettled else (self.window[-1] if self.window else None)
        )
        if last is not None and row["time_ms"] <= last["time_ms"]:
            self.stale_bars += 1  # a replay or an out-of-order bar: the chart moves forward only
            return []
        self.bars_seen += 1
        self._unsettled.append({k: row.get(k, 0) for k in _BAR_FIELDS})
        return self._advance(row["time_ms"])

    def observe_event(self, event: Mapping[str, Any]) -> list[Step]:
        """Take one of the bot's TradeEvents; returns the bars it made final."""
        if event.get("symbol", self.symbol) != self.symbol:
            return []
        self.events_seen += 1
        time_ms = int(event["event_time_ms"])
        if self._settled_until_ms is not None and time_ms < self._settled_until_ms:
            # Its bar was already learned: it can only still move the position.
            self.late_events += 1
            self._hold([dict(event)])
            return self._advance(time_ms)
        bisect.insort(self._events, (time_ms, next(self._arrivals), dict(event)))
        return self._advance(time_ms)

    def _advance(self, time_ms: int) -> list[Step]:
        self.watermark_ms = max(time_ms, self.watermark_ms or time_ms)
        steps = []
        while len(self._unsettled) >= 2 and self.watermark_ms >= _end_ms(self._unsettled[1]):
            bar = self._unsettled.pop(0)
            step = self._settle(bar, until_ms=_end_ms(self._unsettled[0]))
            if step is not None:
                steps.append(step)
        return steps

    def _hold(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event["action"] == "OPEN":
                self._holding[event.get("ticket")] = event
            elif event["action"] == "CLOSE":
                self._holding.pop(event.get("ticket"), None)

    def _settle(self, bar: dict[str, Any], until_ms: int) -> Step | None:
        cut = bisect.bisect_left(self._events, (until_ms, -1))
        mine = [event for _, _, event in self._events[:cut]]
        del self._events[:cut]
        frame = pd.DataFrame([bar])
        labelled = label_bars(frame, [*self._holding.values(), *mine])
        self._hold(mine)
        self._settled_until_ms = until_ms
        self.window.append({**bar, "position": int(labelled["position"].iloc[0])})
        if len(self.window) <= warmup(self.features):
            return None
        row = feature_matrix(pd.DataFrame(list(self.window)), self.features).iloc[-1]
        values = row.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            self.skipped_bars += 1
            return None
        return self._prequential(bar["time_ms"], values, str(labelled["label"].iloc[0]))

    def _prequential(self, time_ms: int, values: np.ndarray, label: str) -> Step:
        x = dict(zip(self.feature_names, values.tolist(), strict=True))
        proba = self.predict_proba_one(x)
        said = self._decide(proba)
        self.scores.update(label, said)
        self.learn_one(x, label)
        self.recent_rows.append(values)
        if self.first_learned_ms is None:
            self.first_learned_ms = time_ms
        self.last_learned_ms = time_ms
        return Step(time_ms, label, said, proba, x)

    def snapshot(
        self, name: str, bot: Mapping[str, Any], created_ms: int | None = None
    ) -> dict[str, Any]:
        """The model now as a checked model.json document (linear family).

        Scaler: River's running means and standard deviations (1 where a feature has not
        varied yet: River scales it to 0, so its weights are still 0 and it adds nothing
        either way). Scores: the prequential ones over the last ``metrics_window`` bars.
        """
        if not self.scores.recent:
            raise NotEnoughDataError(
                f"no bar learned yet ({self.bars_seen} bars seen; the features need "
                f"{warmup(self.features) + 1} before the first row)"
            )
        created_ms = int(time.time() * 1000) if created_ms is None else created_ms
        names = self.feature_names
        mean = np.array([self.scaler.means.get(n, 0.0) for n in names])
        variance = np.array([self.scaler.vars.get(n, 0.0) for n in names])
        varied = variance > 0
        weights = self.softmax.weights
        estimator = {
            "family": "linear",
            "coefficients": [
                [weights[c].get(n, 0.0) if ok else 0.0 for n, ok in zip(names, varied, strict=True)]
                for c in CLASSES
            ],
            "intercepts": [weights[c].get(INTERCEPT, 0.0) for c in CLASSES],
            "learner": f"River StandardScaler | SoftmaxRegression(Adam({self.learning_rate})), "
            f"online, class weights balanced up to {self.max_class_weight:g}",
        }
        scale = np.where(varied, np.sqrt(np.where(varied, variance, 1.0)), 1.0)
        rows = np.vstack(self.recent_rows)
        z = (rows - mean) / scale
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "version": "pending",
            "created_ms": created_ms,
            "bot": {**bot, "symbol": self.symbol, "timeframe_minutes": self.timeframe_minutes},
            "classes": list(CLASSES),
            "features": [
                {"name": f.name, "mql4": f.mql4, "warmup": f.warmup, "doc": f.doc}
                for f in self.features
            ],
            "scaler": {"mean": mean.tolist(), "scale": scale.tolist()},
            "estimator": estimator,
            "thresholds": dict(self.thresholds),
            "metrics": {"validation": self.scores.window_scores(), "test": None},
            "training": {
                "from_ms": self.first_learned_ms,
                "until_ms": self.last_learned_ms,
                "rows": self.class_counts.total(),
                "class_counts": {c: self.class_counts[c] for c in CLASSES},
                "source": "river online",
                "sample_weights": {"method": "balanced", "max": self.max_class_weight},
            },
            "feature_distributions": feature_distributions(
                {n: rows[:, i] for i, n in enumerate(names)}
            ),
            "importance": {
                "method": "mean |coefficient x z|",
                "values": dict(zip(names, linear_importance(estimator, z).tolist(), strict=True)),
            },
            "mode": "standard",
            "feature_flags": {},
        }
        content = {k: v for k, v in doc.items() if k not in ("version", "created_ms")}
        doc["version"] = model_version(created_ms, content)
        return validate_model(doc)
