"""The River online learner: prequential scores that rise over the stream, exact snapshots,
bounded memory; and `botcopier online` on a real broker, publishing a loadable model."""

from __future__ import annotations

import numpy as np
import pytest

from botcopier.trainers.features import feature_matrix
from botcopier.trainers.labels import label_bars
from botcopier.trainers.model_document import validate_model
from botcopier.trainers.model_eval import predict_proba
from botcopier.trainers.online import CLASSES, OnlineClone
from botcopier.trainers.scores import clone_scores
from tests.clone_data import simulated_bots

BARS = 3_000


def time_ordered(bars, events):
    """Bars and events as the merged stream delivers them: by event time (a Bar record's
    time is its open time), an event before a bar at the same time."""
    stream = [(b["time_ms"], 1, "bar", b) for b in bars.to_dict("records")]
    stream += [(e["event_time_ms"], 0, "event", e) for e in events]
    return [(kind, record) for _, _, kind, record in sorted(stream, key=lambda s: s[:2])]


class Run:
    def __init__(self, bot: str) -> None:
        bars, events = simulated_bots()
        self.bars = bars.iloc[:BARS].reset_index(drop=True)
        last_ms = int(self.bars["time_ms"].iloc[-1])
        self.events = [e for e in events[bot] if e["event_time_ms"] < last_ms]
        self.clone = OnlineClone("EURUSD", 60)
        self.steps, self.longest_window, self.most_events = [], 0, 0
        for kind, record in time_ordered(self.bars, self.events):
            observe = self.clone.observe_bar if kind == "bar" else self.clone.observe_event
            self.steps += observe(record)
            self.longest_window = max(self.longest_window, len(self.clone.window))
            self.most_events = max(self.most_events, self.clone.pending_events)

    def thirds(self) -> tuple[dict, dict]:
        third = len(self.steps) // 3
        first, last = self.steps[:third], self.steps[-third:]
        return tuple(
            clone_scores([s.label for s in part], [s.said for s in part]) for part in (first, last)
        )


@pytest.fixture(scope="module", params=["ma-cross", "rsi-reversion"])
def run(request) -> Run:
    return Run(request.param)


def test_prequential_accuracy_and_entry_f1_rise_over_the_stream(run):
    first, last = run.thirds()
    print(
        f"\n{len(run.steps)} bars learned; first third: accuracy {first['bar_agreement']:.3f}, "
        f"entry macro-F1 {first['entry_macro_f1']:.3f}; last third: accuracy "
        f"{last['bar_agreement']:.3f}, entry macro-F1 {last['entry_macro_f1']:.3f}"
    )
    assert last["bar_agreement"] > first["bar_agreement"]
    assert last["entry_macro_f1"] > first["entry_macro_f1"] + 0.1
    assert last["entry_macro_f1"] > 0.5


def test_each_bar_is_learned_once_with_the_batch_label_and_features(run):
    labelled = label_bars(run.bars, run.events)
    batch = feature_matrix(run.bars.assign(position=labelled["position"]))
    by_time = {int(t): i for i, t in enumerate(run.bars["time_ms"])}
    rows = [by_time[s.time_ms] for s in run.steps]
    assert rows == list(range(rows[0], rows[0] + len(rows)))  # every bar once, in order
    assert [s.label for s in run.steps] == labelled["label"].iloc[rows].tolist()
    online = np.array([[s.x[name] for name in run.clone.feature_names] for s in run.steps])
    assert np.allclose(online, batch.iloc[rows].to_numpy(float), rtol=1e-7, atol=1e-9)


def test_rolling_scores_are_those_of_the_last_window_of_decisions(run):
    window = run.steps[-run.clone.scores.window :]
    expected = clone_scores([s.label for s in window], [s.said for s in window])
    summary = run.clone.scores.summary()
    assert summary["rolling_accuracy"] == pytest.approx(expected["bar_agreement"])
    assert summary["rolling_entry_macro_f1"] == pytest.approx(expected["entry_macro_f1"])
    overall = clone_scores([s.label for s in run.steps], [s.said for s in run.steps])
    assert summary["accuracy"] == pytest.approx(overall["bar_agreement"])
    assert summary["entry_macro_f1"] == pytest.approx(overall["entry_macro_f1"])


def test_snapshot_is_a_valid_model_that_predicts_what_river_predicts(run):
    doc = run.clone.snapshot("clone-7-1001-online", {"account": 7, "magic": 1001})
    assert validate_model(doc) == doc
    assert doc["classes"] == list(CLASSES) and doc["estimator"]["family"] == "linear"
    assert doc["training"]["source"] == "river online"
    assert doc["training"]["rows"] == len(run.steps)
    assert doc["metrics"]["validation"] == run.clone.scores.window_scores()
    assert doc["bot"] == {"account": 7, "magic": 1001, "symbol": "EURUSD", "timeframe_minutes": 60}
    rows = np.vstack(run.clone.recent_rows)
    river = [run.clone.predict_proba_one(dict(zip(run.clone.feature_names, r, strict=True)))
             for r in rows]  # fmt: skip
    expected = np.array([[p[c] for c in doc["classes"]] for p in river])
    np.testing.assert_allclose(predict_proba(doc, rows), expected, rtol=0, atol=1e-9)


def test_memory_stays_bounded(run):
    clone = run.clone
    assert run.longest_window == clone.window_bars
    assert len(clone.recent_rows) == clone.scores.window == len(clone.scores.recent)
    assert run.most_events <= 10  # only the events of bars not yet final
    assert clone.open_positions <= 1  # the simulated bots hold one position at most
    assert clone.late_events == clone.stale_bars == clone.skipped_bars == 0


def test_snapshot_before_anything_was_learned_is_refused():
    from botcopier.trainers.dataset import NotEnoughDataError

    with pytest.raises(NotEnoughDataError, match="no bar learned yet"):
        OnlineClone("EURUSD", 60).snapshot("x", {})
