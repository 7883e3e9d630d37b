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


def bar_records(bars, ea_id: str, price_shift: float = 0.0) -> list[dict]:
    """Bars as Bar records from one EA (event time: the open time)."""
    records = []
    for bar in bars.to_dict("records"):
        prices = {k: bar[k] + price_shift for k in ("open", "high", "low", "close")}
        records.append({
            "event_id": f"{ea_id}-bar-{bar['time_ms']}", "event_time_ms": bar["time_ms"],
            "symbol": bar["symbol"], "timeframe_minutes": bar["timeframe_minutes"],
            "spread_points": bar["spread_points"], "ea_id": ea_id, **prices,
        })  # fmt: skip
    return records


def bot_events(events, ea_id: str) -> list[dict]:
    return [
        {**e, "event_id": f"{ea_id}-{n}", "account": 7, "ea_id": ea_id}
        for n, e in enumerate(events)
    ]


def test_the_bots_records_merged_from_two_topics_teach_what_the_ordered_stream_does():
    from botcopier.trainers.online_stream import BotFeed, EventTimeMerge

    bars, events = simulated_bots()
    bars = bars.iloc[:700]
    mine = [e for e in events["ma-cross"] if e["event_time_ms"] < bars["time_ms"].iloc[-1]]
    events = bot_events(mine, "sim-1")
    # Another EA sends the same symbol at its own broker's prices, on the same topic.
    market = sorted(
        bar_records(bars, "sim-1") + bar_records(bars, "sim-2", 0.01),
        key=lambda r: r["event_time_ms"],
    )
    expected = [(s.time_ms, s.label, s.said, s.x) for s in replay(bars, mine)]
    assert len(expected) > 350

    feed, merge = BotFeed(7, 1001), EventTimeMerge()
    rng = np.random.default_rng(3)
    queues = {"events": list(events), "bars": market}
    steps = []
    while any(queues.values()) or merge.waiting():
        source = "events" if rng.random() < 0.5 else "bars"
        size = int(rng.integers(1, 40))  # each topic read at its own pace
        chunk, queues[source] = queues[source][:size], queues[source][size:]
        for record in chunk:
            if source == "events" and feed.wants_event(None, record):
                merge.push(source, record["event_time_ms"], record)
            elif source == "bars" and feed.wants_bar(record):
                merge.push(source, record["event_time_ms"], record)
        for name in queues:
            merge.set_at_end(name, not queues[name])
        for released, record in merge.pop_ready():
            steps += feed.take(released, record)
    assert [(s.time_ms, s.label, s.said, s.x) for s in steps] == expected
    assert feed.ea_id == "sim-1" and feed.clone.late_events == 0
    assert feed.wants_event(None, events[0]) is False  # each event_id once


def replay(bars, events) -> list:
    clone, steps = OnlineClone("EURUSD", 60), []
    for kind, record in time_ordered(bars, events):
        steps += clone.observe_bar(record) if kind == "bar" else clone.observe_event(record)
    return steps


def simulated_through_the_bridge(settings, tmp_path, bars: int):
    import asyncio

    from botcopier.bridge.simulator.run import SimulationPlan, simulate
    from tests.bridge_harness import ThreadedBridge
    from tests.test_simulate import sim_settings

    settings = sim_settings(settings)
    plan = SimulationPlan(eas=2, bars=bars, seed=11)
    with ThreadedBridge(settings):
        result = asyncio.run(simulate(settings, plan, tmp_path / "spool"))
    assert result.complete
    return settings, plan.account_base + 1  # sim-1: EURUSD


def published_models(settings) -> list[tuple[bytes, dict]]:
    from botcopier.schemas.codec import ValueCodec
    from tests.helpers import consume_to_end

    codec, topic = ValueCodec.from_settings(settings), settings.topic("models")
    return [
        (m.key(), codec.decode(m.value(), topic=topic).record)
        for m in consume_to_end(settings, topic)
    ]


@pytest.mark.broker
def test_the_service_learns_the_bridged_stream_and_publishes_loadable_snapshots(
    fresh_settings, tmp_path
):
    import hashlib
    import threading

    from botcopier.trainers.model_document import parse_model
    from botcopier.trainers.online_service import OnlineOptions, OnlineService

    settings, account = simulated_through_the_bridge(fresh_settings, tmp_path, bars=700)
    options = OnlineOptions(
        account=account, magic=1001, snapshot_every=100, from_beginning=True, max_bars=300
    )
    lines: list[str] = []
    service = OnlineService(settings, options, lines.append)
    assert service.run(threading.Event()) == 0
    assert service.learned == 300
    assert any("rolling accuracy" in line and "published" in line for line in lines)

    records = published_models(settings)
    assert [key for key, _ in records] == [f"clone-{account}-1001-online".encode()] * 3
    for _, record in records:
        assert hashlib.sha256(record["model_json"].encode()).hexdigest() == record["sha256"]
        doc = parse_model(record["model_json"])
        assert doc["version"] == record["model_version"]
        assert doc["bot"] == {"account": account, "magic": 1001, "symbol": "EURUSD",
                              "timeframe_minutes": 60}  # fmt: skip
        assert doc["training"]["source"] == "river online"
        assert record["trained_until_ms"] == doc["training"]["until_ms"]
        assert 0 <= record["metrics"]["prequential_rolling_accuracy"] <= 1
    rows = [parse_model(r["model_json"])["training"]["rows"] for _, r in records]
    assert rows == [100, 200, 300]
    assert service.feed.ea_id == "sim-1" and service.feed.clone.late_events == 0


@pytest.mark.broker
def test_botcopier_online_serves_health_and_metrics_and_stops_on_sigterm(fresh_settings, tmp_path):
    import json
    import time
    import urllib.request

    from botcopier.services import ServiceProcess, botcopier_command
    from tests.helpers import free_port

    settings, account = simulated_through_the_bridge(fresh_settings, tmp_path, bars=450)
    port = free_port()
    service = ServiceProcess(
        "online",
        botcopier_command("online", "--account", str(account), "--magic", "1002",
                          "--from-beginning", "--snapshot-every", "1000",
                          "--metrics-port", str(port)),
        {
            "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
            "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path / "state"),
        },
        tmp_path / "online.log",
    )  # fmt: skip
    service.start(port=port, timeout_s=60)
    try:
        deadline, health = time.monotonic() + 90, {}
        while time.monotonic() < deadline and health.get("bars_learned", 0) < 100:
            time.sleep(0.5)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:  # noqa: S310
                health = json.load(response)
        assert health["status"] == "ok" and health["bars_learned"] >= 100, service.log_tail()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:  # noqa: S310
            metrics = response.read().decode()
        name = f"clone-{account}-1002-online"
        assert f'botcopier_online_bars_total{{model="{name}"}}' in metrics
        assert "botcopier_online_rolling_entry_macro_f1" in metrics
    finally:
        code = service.stop(timeout_s=30)
    assert code == 0, service.log_tail()
    # Nothing was due (--snapshot-every 1000): the one snapshot is the one made on stopping.
    [(key, record)] = published_models(settings)
    assert key == name.encode() and record["metrics"]["prequential_rolling_accuracy"] > 0
    assert "rolling entry macro-F1" in service.log_tail(50)
