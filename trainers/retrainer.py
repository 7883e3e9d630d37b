"""Answer one RetrainRequest: train a candidate, hold it against the live model, decide.

The candidate learns from the bot's history up to the event the request names
(``last_event_id``) and is scored on the newest bars of that history, which it never saw
(its test window). The live model is scored on the same bars with the reference
evaluator: both are judged on one window with one metric. The candidate is published only
if it beats the live model by ``margin`` and, live model or not, only if it reaches the floor
``min_score``: a clone worse than that is rejected as below the floor, never shipped
because the live one was worse still. Every answer, published,
rejected or failed, carries its reason with the figures.

Examples
--------
>>> judge("entry_macro_f1", 0.97, 0.90, margin=0.01, min_score=0.5).reason
'candidate entry_macro_f1 0.9700 beats live 0.9000 by 0.0700 >= margin 0.0100'
>>> judge("entry_macro_f1", 0.905, 0.90, margin=0.01, min_score=0.5).reason
'candidate entry_macro_f1 0.9050 does not beat live 0.9000 by margin 0.0100'
>>> judge("entry_macro_f1", 0.4, None, margin=0.01, min_score=0.5).publish
False
>>> judge("entry_macro_f1", 0.45, 0.30, margin=0.01, min_score=0.5).reason
'candidate entry_macro_f1 0.4500 is below the floor 0.5000 (live 0.3000)'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.trainers.batch import TrainOptions
from botcopier.trainers.dataset import build_dataset, time_split
from botcopier.trainers.features import CANDIDATE_FEATURES, FEATURES
from botcopier.trainers.model_document import ModelFormatError
from botcopier.trainers.model_eval import decide, predict_proba
from botcopier.trainers.scores import clone_scores
from botcopier.trainers.sources import BotHistory, history_from_kafka
from botcopier.trainers.train_command import train_best

Say = Callable[[str], None]


@dataclass(frozen=True)
class Verdict:
    publish: bool
    reason: str


def judge(
    metric: str, candidate: float, live: float | None, *, margin: float, min_score: float
) -> Verdict:
    if live is None:
        if candidate >= min_score:
            return Verdict(True, f"no live model; candidate {metric} {candidate:.4f} >= "
                                 f"minimum {min_score:.4f}")  # fmt: skip
        return Verdict(False, f"no live model, but candidate {metric} {candidate:.4f} is below "
                              f"the minimum {min_score:.4f}")  # fmt: skip
    if candidate < min_score:
        return Verdict(False, f"candidate {metric} {candidate:.4f} is below the floor "
                              f"{min_score:.4f} (live {live:.4f})")  # fmt: skip
    gain = candidate - live
    if gain >= margin:
        return Verdict(True, f"candidate {metric} {candidate:.4f} beats live {live:.4f} by "
                             f"{gain:.4f} >= margin {margin:.4f}")  # fmt: skip
    return Verdict(False, f"candidate {metric} {candidate:.4f} does not beat live {live:.4f} "
                          f"by margin {margin:.4f}")  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    decision: dict[str, Any]  # a RetrainDecision record
    model: dict[str, Any] | None  # the candidate document when it is to be published


def until_request(history: BotHistory, last_event_id: str | None) -> BotHistory:
    """The history as the request saw it: events up to its event, bars closed by then."""
    ids = [e.get("event_id") for e in history.events]
    if not last_event_id or last_event_id not in ids:
        return history
    events = history.events[: ids.index(last_event_id) + 1]
    cutoff = events[-1]["event_time_ms"]
    ends = history.bars["time_ms"] + history.bars["timeframe_minutes"] * 60_000
    return BotHistory(
        history.bot, history.bars[ends <= cutoff].reset_index(drop=True), events,
        history.offsets, last_event_id, history.source,
    )  # fmt: skip


def _live_score(live: Mapping[str, Any], test_features, test_labels, metric: str) -> float:
    names = [f["name"] for f in live["features"]]
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ModelFormatError(f"live model uses features this botcopier lacks: {unknown}")
    said = decide(live, predict_proba(live, test_features[names].to_numpy(float)))
    return clone_scores(list(test_labels), said)[metric]


def answer_request(
    settings: Settings,
    request: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    say: Say = lambda line: None,
) -> Outcome:
    """Train, compare and decide for one request; failures become FAILED decisions."""
    config = settings.retrainer
    base = {
        "event_id": f"rd-{request['event_id']}",
        "event_time_ms": int(time.time() * 1000),
        "model_name": request["model_name"],
        "request_event_id": request["event_id"],
        "metric": config.metric,
        "margin": config.margin,
        "live_version": live["version"] if live else None,
    }
    try:
        if request.get("account") is None or request.get("magic") is None:
            raise BotCopierError("the request names no bot (account and magic)")
        history = history_from_kafka(settings, request["account"], request["magic"], progress=say)
        history = until_request(history, request.get("last_event_id"))
        data = build_dataset(history.bars, history.events, CANDIDATE_FEATURES)
        options = TrainOptions(family=config.family, validation=config.validation, test=config.test)
        result = train_best(
            data, history.bot, request["model_name"], options, say,
            training_extra={"offsets": history.offsets, "last_event_id": history.last_event_id,
                            "source": f"retrain request {request['event_id']}"},
        )  # fmt: skip
        window = data.rows(
            time_split(len(data), validation=config.validation, test=config.test).test
        )
        candidate = result.test[config.metric]
        live_score = (
            _live_score(live, window.features, window.labels, config.metric) if live else None
        )
        verdict = judge(config.metric, candidate, live_score, margin=config.margin,
                        min_score=config.min_score)  # fmt: skip
    except BotCopierError as exc:
        say(f"retrain of {request['model_name']} failed: {exc}")
        return Outcome({**base, "outcome": "FAILED", "reason": str(exc)}, None)
    say(f"{request['model_name']}: {'PUBLISH' if verdict.publish else 'REJECT'}: {verdict.reason}")
    decision = {
        **base,
        "outcome": "PUBLISHED" if verdict.publish else "REJECTED",
        "reason": verdict.reason,
        "candidate_version": result.document["version"],
        "candidate_score": candidate,
        "live_score": live_score,
        "window_from_ms": int(window.time_ms.iloc[0]),
        "window_until_ms": int(window.time_ms.iloc[-1]),
    }
    return Outcome(decision, result.document if verdict.publish else None)
