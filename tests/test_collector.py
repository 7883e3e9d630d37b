"""`botcopier collector` as a process on the real broker: scraped, queried, restarted."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from botcopier.samples import sample_records
from botcopier.schemas.codec import ValueCodec
from botcopier.services import ServiceProcess, botcopier_command
from botcopier.streams.clients import producer_config
from botcopier.streams.collector_service import CollectorService
from botcopier.streams.metrics_store import MetricsStoreError
from tests.helpers import free_port
from tests.test_collector_store import bot_row, ea_row

pytestmark = pytest.mark.broker
T0_MS = 1_767_225_600_000


def produce(settings, items: list[tuple[str, str, bytes | dict]]) -> None:
    """(topic name, schema name, record or raw bytes), keyed account:magic like the agents."""
    codec = ValueCodec.from_settings(settings)
    producer = Producer(producer_config(settings))
    for name, schema, record in items:
        topic = settings.topic(name)
        if isinstance(record, bytes):
            producer.produce(topic, key=b"1:7", value=record)
            continue
        key = f"{record.get('account')}:{record.get('magic')}".encode()
        producer.produce(topic, key=key, value=codec.encode(schema, record, topic=topic))
    assert producer.flush(30) == 0


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    status, body = get(f"http://127.0.0.1:{port}/prometheus")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def events_total(samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "botcopier_collector_events_total")


def wait_for_events(port: int, expected: int, service: ServiceProcess, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        samples = scrape(port)
        if events_total(samples) >= expected:
            return samples
        time.sleep(0.2)
    raise AssertionError(
        f"collected {events_total(samples)} of {expected} records\n{service.log_tail(40)}"
    )


def collector_process(settings, state_dir, port: int, log_name: str) -> ServiceProcess:
    return ServiceProcess(
        "collector",
        botcopier_command("collector"),
        {
            "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
            "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "BOTCOPIER_PATHS__STATE_DIR": str(state_dir),
            "BOTCOPIER_COLLECTOR__PORT": str(port),
        },
        state_dir / log_name,
    )


def test_collector_serves_latest_bot_figures_counts_events_and_survives_a_restart(
    fresh_settings, tmp_path
):
    settings = fresh_settings
    retrain, drift = sample_records()["RetrainRequest"], sample_records()["DriftEvent"]
    bots = [
        bot_row("a1", T0_MS + 1, win_rate=0.50, max_drawdown=10.0, sharpe=0.3, trade_count=20),
        bot_row("b1", T0_MS + 2, magic=8, win_rate=0.70, max_drawdown=4.0, trade_count=5),
        bot_row("a2", T0_MS + 3, win_rate=0.45, max_drawdown=12.5, sharpe=0.1, trade_count=21),
    ]
    snapshots = [ea_row(f"m{n}", T0_MS + n, account=1, magic=7, trade_count=n) for n in (1, 2, 3)]
    produce(
        settings,
        [
            *(("bot-metrics", "BotMetrics", record) for record in bots),
            ("bot-metrics", "BotMetrics", b"\xc3\x01 definitely not avro"),
            ("bot-metrics", "BotMetrics", bots[0]),  # replayed after a crash upstream
            *(("ea-metrics", "MetricSnapshot", record) for record in snapshots),
            ("retrain-requests", "RetrainRequest", retrain),
            ("retrain-requests", "RetrainRequest", {**retrain, "event_id": "r-2"}),
            ("drift", "DriftEvent", drift),
        ],
    )
    port = free_port()
    first = collector_process(settings, tmp_path, port, "collector-1.log")
    first.start(port=port)
    try:
        samples = wait_for_events(port, expected=4 + 3 + 2 + 1, service=first)
        status, body = get(f"http://127.0.0.1:{port}/metrics?limit=2")
        bad_status, bad_body = get(f"http://127.0.0.1:{port}/metrics?limit=abc")
        _, health = get(f"http://127.0.0.1:{port}/healthz")
    finally:
        assert first.stop() == 0, first.log_tail(40)

    agents_7 = {"account": "1", "magic": "7", "source": "agents"}
    assert value(samples, "botcopier_bot_win_rate", **agents_7) == 0.45
    assert value(samples, "botcopier_bot_max_drawdown", **agents_7) == 12.5
    assert value(samples, "botcopier_bot_sharpe", **agents_7) == 0.1
    assert value(samples, "botcopier_bot_trade_count", **agents_7) == 21
    assert value(samples, "botcopier_bot_win_rate", **{**agents_7, "magic": "8"}) == 0.70
    ea_7 = {**agents_7, "source": "ea"}
    assert value(samples, "botcopier_bot_trade_count", **ea_7) == 3
    assert value(samples, "botcopier_collector_events_total", topic="bot-metrics") == 4
    assert value(samples, "botcopier_collector_events_total", topic="ea-metrics") == 3
    assert value(samples, "botcopier_collector_duplicates_total", topic="bot-metrics") == 1
    assert value(samples, "botcopier_collector_errors_total", reason="unknown_fingerprint") == 1
    assert value(samples, "botcopier_retrain_requests_total", reason="drift") == 2
    assert value(samples, "botcopier_drift_events_total", detector="adwin") == 1

    assert status == 200
    history = json.loads(body)
    assert [row["event_id"] for row in history["bot_metrics"]] == ["a2", "b1"]
    assert [row["event_id"] for row in history["ea_metrics"]] == ["m3", "m2"]
    assert bad_status == 400
    assert "limit must be a whole number" in json.loads(bad_body)["error"]
    assert json.loads(health)["rows"] == {"bot_metrics": 3, "ea_metrics": 3}
    assert (tmp_path / "collector.sqlite").is_file()

    # Restarted on the same database: the gauges are back before any record is read, and
    # the committed offsets mean nothing is read twice.
    second = collector_process(settings, tmp_path, port, "collector-2.log")
    second.start(port=port)
    try:
        restarted = scrape(port)
        produce(settings, [("bot-metrics", "BotMetrics", bot_row("a3", T0_MS + 9, win_rate=0.9))])
        after = wait_for_events(port, expected=1, service=second)
        _, body = get(f"http://127.0.0.1:{port}/metrics?limit=10")
    finally:
        assert second.stop() == 0, second.log_tail(40)
    assert value(restarted, "botcopier_bot_win_rate", **agents_7) == 0.45
    assert value(restarted, "botcopier_bot_trade_count", **ea_7) == 3
    assert value(after, "botcopier_bot_win_rate", **agents_7) == 0.9
    assert value(after, "botcopier_collector_events_total", topic="bot-metrics") == 1
    assert [row["event_id"] for row in json.loads(body)["bot_metrics"]] == ["a3", "a2", "b1", "a1"]


def test_a_batch_that_cannot_be_stored_stops_the_collector_without_committing_it(
    fresh_settings, tmp_path, monkeypatch
):
    settings = fresh_settings
    collector = settings.collector.model_copy(update={"port": free_port()})
    broken_dir = tmp_path / "broken"
    broken = settings.model_copy(
        update={
            "collector": collector,
            "paths": settings.paths.model_copy(update={"state_dir": broken_dir}),
        }
    )
    produce(settings, [("bot-metrics", "BotMetrics", bot_row("a1", T0_MS, win_rate=0.25))])
    service = CollectorService(broken)

    def disk_full(table, records):
        raise MetricsStoreError("cannot write to collector.sqlite: database or disk is full")

    monkeypatch.setattr(service.store, "add_many", disk_full)
    exit_code = asyncio.run(asyncio.wait_for(service.run(asyncio.Event()), timeout=60))
    assert exit_code == 1
    assert isinstance(service.failure, MetricsStoreError)

    # The same group, healthy again, is given the record again.
    port = free_port()
    healthy = collector_process(settings, tmp_path, port, "collector-healthy.log")
    healthy.start(port=port)
    try:
        samples = wait_for_events(port, expected=1, service=healthy)
    finally:
        assert healthy.stop() == 0, healthy.log_tail(40)
    agents_7 = {"account": "1", "magic": "7", "source": "agents"}
    assert value(samples, "botcopier_bot_win_rate", **agents_7) == 0.25
