"""The Faust agents worker on the real broker: metrics, retrain requests, drift, restarts."""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.services import ServiceProcess, botcopier_command
from botcopier.streams.admin import wait_for_group
from botcopier.streams.clients import producer_config
from tests.helpers import consume_topic, free_port
from tests.test_bridge import decode_all
from tests.test_rolling_metrics import assert_close, pandas_metrics

pytestmark = pytest.mark.broker
HOUR = 3_600_000
START_MS = 1_735_689_600_000
TRADE_PARTITIONS = 6


def close_event(account: int, magic: int, n: int, t: int, net: float) -> dict:
    return {
        "event_id": f"close-{account}-{magic}-{n}",
        "event_time_ms": t,
        "account": account,
        "broker": "B",
        "magic": magic,
        "ticket": 9000 + n,
        "symbol": "EURUSD",
        "action": "CLOSE",
        "order_type": "BUY",
        "lots": 0.1,
        "open_price": 1.1,
        "close_price": 1.1,
        "close_time_ms": t,
        "profit": net + 0.9,  # swap and commission below take 0.9 off
        "swap": -0.2,
        "commission": -0.7,
        "remaining_lots": 0.0,
    }


def degrading_bot(closes: int = 160) -> list[dict]:
    """Closes every 12 h of bot 42:1001: a 75% win rate, then 10%."""
    rng = random.Random(21)
    return [
        close_event(42, 1001, n, START_MS + n * 12 * HOUR, 29.1 if rng.random() < p else -25.9)
        for n in range(closes)
        for p in [0.75 if n < closes // 2 else 0.10]
    ]


def many_bots(bots: int, closes: int, seed: int) -> list[dict]:
    """Interleaved closes of several bots with random results, each at its own pace."""
    rng = random.Random(seed)
    events = []
    for b in range(bots):
        t = START_MS
        for n in range(closes):
            t += rng.randint(1, 20) * HOUR
            events.append(close_event(7, 2000 + b, n, t, round(rng.gauss(2.0, 20.0), 2)))
    return sorted(events, key=lambda e: (e["event_time_ms"], e["magic"]))


def produce(settings: Settings, name: str, schema: str, records: list[dict], key) -> None:
    """Write records to a catalogue topic; ``key(record)`` gives (key, partition or None)."""
    codec = ValueCodec.from_settings(settings)
    topic = settings.topic(name)
    producer = Producer(producer_config(settings))
    for record in records:
        key_text, partition = key(record)
        extra = {} if partition is None else {"partition": partition}
        value = codec.encode(schema, record, topic=topic)
        producer.produce(topic, key=key_text.encode(), value=value, **extra)
    assert producer.flush(30) == 0


def by_bot(record: dict) -> tuple[str, int]:
    """The bridge's key; bots spread over all partitions by their magic number."""
    return f"{record['account']}:{record['magic']}", record["magic"] % TRADE_PARTITIONS


def produce_trades(settings: Settings, events: list[dict]) -> None:
    produce(settings, "trade-events", "TradeEvent", events, by_bot)


def agents_worker(settings: Settings, state_dir: Path, name: str = "agents", **env: str):
    web_port = free_port()
    worker = ServiceProcess(
        name,
        botcopier_command("agents", "--web-port", str(web_port)),
        {
            "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
            "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "BOTCOPIER_PATHS__STATE_DIR": str(state_dir),
            **{f"BOTCOPIER_AGENTS__{k.upper()}": v for k, v in env.items()},
        },
        state_dir / f"{name}.log",
    )
    worker.start(port=web_port, timeout_s=60)
    worker.web_port = web_port
    return worker


def scrape(worker: ServiceProcess, path: str) -> bytes:
    url = f"http://127.0.0.1:{worker.web_port}{path}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the test's worker
        return response.read()


def read(settings: Settings, name: str, until: int, timeout_s: float = 120.0) -> list[dict]:
    return decode_all(consume_topic(settings, settings.topic(name), until, timeout_s))


def read_until(settings: Settings, name: str, done, timeout_s: float = 150.0) -> list[dict]:
    """The topic's records once ``done(records)`` holds (or at the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = read(settings, name, until=0, timeout_s=20)
        if done(records) or time.monotonic() > deadline:
            return records
        time.sleep(1)


def read_metrics_for(settings: Settings, closes: list[dict]) -> list[dict]:
    """bot-metrics once a record exists for every close (a worker may publish a few twice)."""
    wanted = {f"bm-{e['event_id']}" for e in closes}
    return read_until(settings, "bot-metrics", lambda ms: wanted <= {m["event_id"] for m in ms})


def assert_latest_metrics_match_pandas(metrics: list[dict], closes: list[dict]) -> None:
    latest = {}
    for record in metrics:  # a bot's metrics share one partition: the read order is theirs
        latest[(record["account"], record["magic"])] = record
    trades = defaultdict(list)
    for e in closes:
        trades[(e["account"], e["magic"])].append(
            (e["close_time_ms"], e["profit"] + e["swap"] + e["commission"])
        )
    assert latest.keys() == trades.keys()
    for bot, rows in trades.items():
        frame = pd.DataFrame(rows, columns=["time", "net"])
        expected = pandas_metrics(frame, int(frame["time"].max()), 30)
        assert_close({k: latest[bot][k] for k in expected}, expected)


NO_DRIFT = {
    # Only the win-rate trigger: drift and drawdown would add requests of their own.
    "drift_detectors": "",
    "max_drawdown": "1000000",
    "drawdown_rearm": "900000",
}


def test_worker_publishes_metrics_one_retrain_and_ignores_duplicates(fresh_settings, tmp_path):
    settings = fresh_settings
    events = degrading_bot()
    produce_trades(settings, [*events, *events[40:60]])  # the second 40..60: a replay
    worker = agents_worker(settings, tmp_path, **NO_DRIFT)
    try:
        metrics = read(settings, "bot-metrics", until=len(events))
        requests = read(settings, "retrain-requests", until=1)
        health = json.loads(scrape(worker, "/healthz"))
        prometheus = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(scrape(worker, "/metrics").decode())
            for sample in family.samples
        }
    finally:
        worker.kill()
    assert health["status"] == "ok" and health["bots"] == 1
    assert prometheus[("botcopier_agents_closes_total", ())] == len(events)
    assert prometheus[("botcopier_agents_duplicate_closes_total", ())] == 20
    assert prometheus[("botcopier_agents_retrain_requests_total", (("reason", "win_rate"),))] == 1
    assert prometheus[("botcopier_agents_close_to_metric_seconds_count", ())] == len(events)
    assert len(metrics) == len(events), worker.log_tail(40)  # duplicates produced nothing
    assert_latest_metrics_match_pandas(metrics, events)
    assert metrics[-1]["last_event_id"] == events[-1]["event_id"]
    assert [r["reason"] for r in requests] == ["win_rate"]
    request = requests[0]
    assert request["model_name"] == "clone-42-1001"
    assert request["last_event_id"] in {e["event_id"] for e in events[80:]}
    [position] = request["from_offsets"]
    assert position["topic"] == settings.topic("trade-events") and position["offset"] >= 80


def test_a_killed_worker_resumes_from_its_tables_without_double_counting(fresh_settings, tmp_path):
    settings = fresh_settings
    events = many_bots(bots=6, closes=90, seed=4)
    first, second, third = events[:200], events[200:400], events[400:]
    produce_trades(settings, first)
    worker = agents_worker(settings, tmp_path / "one", **NO_DRIFT)
    try:
        read_metrics_for(settings, first)
        produce_trades(settings, second)
        time.sleep(random.Random(1).uniform(0.2, 0.6))
    finally:
        worker.kill()  # SIGKILL mid-stream: no flush, no offset commit
    # A new process with an empty state directory: its state can only come from changelogs.
    worker = agents_worker(settings, tmp_path / "two", **NO_DRIFT)
    try:
        produce_trades(settings, [*third, *first[:30]])  # first[:30] again: EA resends
        metrics = read_metrics_for(settings, events)
    finally:
        worker.kill()
    published = Counter(m["event_id"] for m in metrics)
    missing = [
        (n, e["event_id"]) for n, e in enumerate(events) if f"bm-{e['event_id']}" not in published
    ]
    assert not missing, (missing, len(metrics), worker.log_tail(60))
    assert_latest_metrics_match_pandas(metrics, events)
    fields = ("trade_count", "win_rate", "total_profit", "max_drawdown", "sharpe")
    copies = defaultdict(set)
    for m in metrics:
        copies[m["event_id"]].add(tuple(m[f] for f in fields))
    # A close redone after the kill must repeat its numbers, not count itself again.
    assert all(len(versions) == 1 for versions in copies.values())
    print(
        f"\nresume: {len(events)} closes, {len(metrics)} metrics, "
        f"{sum(n - 1 for n in published.values())} republished after the kill"
    )


def test_two_workers_share_the_partitions_and_count_each_close_once(fresh_settings, tmp_path):
    settings = fresh_settings
    workers = [agents_worker(settings, tmp_path / n, n, **NO_DRIFT) for n in ("w1", "w2")]
    try:
        members = wait_for_group(
            settings, f"{settings.kafka.topic_prefix}agents", settings.topic("trade-events"), 2
        )
        assert len(members) == 2, (members, workers[1].log_tail(30))
        assert set.union(*members) == set(range(TRADE_PARTITIONS)) and not set.intersection(
            *members
        )
        events = many_bots(bots=TRADE_PARTITIONS * 2, closes=30, seed=8)
        produce_trades(settings, events)
        metrics = read_metrics_for(settings, events)
    finally:
        for worker in workers:
            worker.kill()
    assert {m["event_id"] for m in metrics} == {f"bm-{e['event_id']}" for e in events}
    assert len(metrics) == len(events)
    assert_latest_metrics_match_pandas(metrics, events)


def model_record(name: str, version: str, document: dict) -> dict:
    text = json.dumps(document)
    return {
        "event_id": f"mp-{version}",
        "schema_version": 1,
        "event_time_ms": START_MS,
        "model_name": name,
        "model_version": version,
        "model_json": text,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "metrics": {},
        "feature_flags": {},
    }


def decisions(model: str, version: str, rsi: np.ndarray, spread: np.ndarray) -> list[dict]:
    return [
        {
            "event_id": f"dc-{version}-{n}",
            "schema_version": 1,
            "event_time_ms": START_MS + n * 60_000,
            "account": 42,
            "magic": 5005,
            "symbol": "EURUSD",
            "model_name": model,
            "model_version": version,
            "action": "NONE",
            "probability": 0.5,
            "threshold": 0.6,
            "features": {"rsi_14": float(value), "spread": float(spread[n])},
            "uncertain": False,
        }
        for n, value in enumerate(rsi)
    ]


def test_drift_events_from_results_and_from_features(fresh_settings, tmp_path):
    settings = fresh_settings
    rng = np.random.default_rng(5)
    train = rng.normal(50, 10, 10_000)
    edges = np.quantile(train, [0.2, 0.4, 0.6, 0.8])
    model = {
        "feature_distributions": {
            "rsi_14": {"edges": edges.tolist(), "fractions": [0.2] * 5},
            # Normal(1.0, 0.3) split at mean -/+ 1.667 std.
            "spread": {"edges": [0.5, 1.5], "fractions": [0.0478, 0.9044, 0.0478]},
        }
    }
    produce(
        settings,
        "models",
        "ModelPublished",
        [model_record("clone-42-5005", "v1", model)],
        lambda r: (r["model_name"], None),
    )
    # Two stable batches of 100 decisions, then three with RSI shifted by 1.5 std.
    live = np.concatenate([rng.normal(50, 10, 200), rng.normal(65, 10, 300)])
    produce(
        settings,
        "decisions",
        "Decision",
        decisions("clone-42-5005", "v1", live, rng.normal(1.0, 0.3, len(live))),
        lambda r: (f"{r['account']}:{r['magic']}", None),
    )
    produce_trades(settings, degrading_bot())
    worker = agents_worker(settings, tmp_path, psi_batch="100", **{"min_trades": "1000"})
    try:
        drift = read_until(
            settings, "drift", lambda ds: sum(d["detector"] == "psi" for d in ds) >= 3
        )
        requests = read_until(
            settings, "retrain-requests", lambda rs: any(r["magic"] == 5005 for r in rs)
        )
    finally:
        worker.kill()
    by_detector = defaultdict(list)
    for record in drift:
        by_detector[record["detector"]].append(record)
    psi_found = by_detector.pop("psi")
    assert [(d["feature"], d["model_version"]) for d in psi_found] == [("rsi_14", "v1")] * 3
    assert all(d["statistic"] > d["threshold"] == 0.2 for d in psi_found)
    assert by_detector, "the collapsing win rate went undetected"
    assert set(by_detector) <= {"adwin", "page_hinkley"}
    assert all(d["magic"] == 1001 and d["feature"] is None for v in by_detector.values() for d in v)
    feature_requests = [r for r in requests if r["model_name"] == "clone-42-5005"]
    assert [r["reason"] for r in feature_requests] == ["drift"]  # once per model version
    assert "rsi_14" in feature_requests[0]["detail"]
    assert feature_requests[0]["from_offsets"][0]["topic"] == settings.topic("decisions")
