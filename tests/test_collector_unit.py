"""The collector without a broker: records to rows, gauges and counters; HTTP; the dashboard."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from botcopier.config import load_settings
from botcopier.samples import sample_records
from botcopier.streams.collector import MetricsCollector, error_reason
from botcopier.streams.collector_http import CollectorHttp
from botcopier.streams.collector_metrics import CollectorMetrics
from botcopier.streams.metrics_store import MetricsStore
from tests.test_collector_store import bot_row, ea_row

DASHBOARD = Path(__file__).resolve().parents[1] / "infra" / "grafana" / "botcopier.json"
SETTINGS = load_settings(config_file=None, environ={"BOTCOPIER_PATHS__STATE_DIR": "/nonexistent"})
SCHEMA_OF = {
    "bot-metrics": "BotMetrics",
    "ea-metrics": "MetricSnapshot",
    "retrain-requests": "RetrainRequest",
    "drift": "DriftEvent",
}


def make_collector(store: MetricsStore | None = None) -> MetricsCollector:
    return MetricsCollector(SETTINGS, store or MetricsStore(":memory:"), CollectorMetrics())


def feed(collector: MetricsCollector, name: str, *records: dict) -> None:
    topic = SETTINGS.topic(name)
    for record in records:
        collector.ingest(topic, collector.codec.encode(SCHEMA_OF[name], record, topic=topic))


def sample(collector: MetricsCollector, name: str, **labels) -> float | None:
    return collector.metrics.registry.get_sample_value(name, labels)


def bot(account: int, magic: int, source: str) -> dict[str, str]:
    return {"account": str(account), "magic": str(magic), "source": source}


def test_gauges_show_each_bots_latest_record_and_counters_count_records():
    collector = make_collector()
    feed(
        collector,
        "bot-metrics",
        bot_row("a1", 100, magic=7, win_rate=0.5, sharpe=0.1, trade_count=10),
        bot_row("b1", 150, magic=8, win_rate=0.9, max_drawdown=3.0, trade_count=2),
        bot_row("a2", 200, magic=7, win_rate=0.4, sharpe=-0.2, trade_count=11),
    )
    feed(collector, "ea-metrics", ea_row("m1", 100, account=1, magic=7, socket_errors=4))
    assert collector.flush() == 4
    assert sample(collector, "botcopier_bot_win_rate", **bot(1, 7, "agents")) == 0.4
    assert sample(collector, "botcopier_bot_sharpe", **bot(1, 7, "agents")) == -0.2
    assert sample(collector, "botcopier_bot_trade_count", **bot(1, 7, "agents")) == 11
    assert sample(collector, "botcopier_bot_max_drawdown", **bot(1, 8, "agents")) == 3.0
    assert sample(collector, "botcopier_bot_event_time_seconds", **bot(1, 8, "agents")) == 0.15
    assert sample(collector, "botcopier_bot_win_rate", **bot(1, 7, "ea")) == 0.55
    assert sample(collector, "botcopier_ea_socket_errors", account="1", magic="7") == 4
    assert sample(collector, "botcopier_collector_events_total", topic="bot-metrics") == 3
    assert sample(collector, "botcopier_collector_events_total", topic="ea-metrics") == 1
    assert collector.store.count("bot_metrics") == 3


def test_a_missing_profit_factor_removes_the_series_instead_of_showing_zero():
    collector = make_collector()
    feed(collector, "bot-metrics", bot_row("a1", 1, profit_factor=1.5))
    collector.flush()
    assert sample(collector, "botcopier_bot_profit_factor", **bot(1, 7, "agents")) == 1.5
    feed(collector, "bot-metrics", bot_row("a2", 2, profit_factor=None))
    collector.flush()
    assert sample(collector, "botcopier_bot_profit_factor", **bot(1, 7, "agents")) is None
    assert sample(collector, "botcopier_bot_win_rate", **bot(1, 7, "agents")) == 0.55


def test_replays_are_counted_as_duplicates_and_never_move_gauges_back():
    collector = make_collector()
    old, new = bot_row("a1", 100, win_rate=0.2), bot_row("a2", 200, win_rate=0.8)
    feed(collector, "bot-metrics", old, new)
    collector.flush()
    feed(collector, "bot-metrics", old)  # replayed after the newer record
    assert collector.flush() == 0
    assert sample(collector, "botcopier_bot_win_rate", **bot(1, 7, "agents")) == 0.8
    assert sample(collector, "botcopier_collector_duplicates_total", topic="bot-metrics") == 1
    assert sample(collector, "botcopier_collector_events_total", topic="bot-metrics") == 3
    assert collector.store.count("bot_metrics") == 2


def test_retrain_requests_and_drift_are_counted_once_by_reason_and_detector():
    collector = make_collector()
    records = sample_records()
    retrain, drift = records["RetrainRequest"], records["DriftEvent"]
    feed(
        collector,
        "retrain-requests",
        retrain,
        {**retrain, "event_id": "r-2", "reason": "win_rate"},
        {**retrain, "event_id": "r-3"},
        retrain,  # a replay
    )
    feed(collector, "drift", drift, {**drift, "event_id": "d-2", "detector": "page_hinkley"})
    collector.flush()
    assert sample(collector, "botcopier_retrain_requests_total", reason="drift") == 2
    assert sample(collector, "botcopier_retrain_requests_total", reason="win_rate") == 1
    assert sample(collector, "botcopier_drift_events_total", detector="adwin") == 1
    assert sample(collector, "botcopier_drift_events_total", detector="page_hinkley") == 1
    assert sample(collector, "botcopier_collector_duplicates_total", topic="retrain-requests") == 1


def test_bad_values_are_counted_by_reason_and_the_next_record_still_lands():
    collector = make_collector()
    topic = SETTINGS.topic("bot-metrics")
    snapshot = collector.codec.encode(
        "MetricSnapshot", ea_row("m1", 1), topic=SETTINGS.topic("ea-metrics")
    )
    collector.ingest(topic, b"\x00garbage")  # Confluent framing, but no registry configured
    collector.ingest(topic, b"not avro at all")
    collector.ingest(topic, b"\xc3\x01" + b"\x00" * 8 + b"body")  # fingerprint nobody knows
    collector.ingest(topic, snapshot)  # valid, but not what bot-metrics carries
    collector.ingest(topic, None)  # a tombstone
    collector.ingest("elsewhere.bot-metrics", snapshot)
    feed(collector, "bot-metrics", bot_row("ok", 1))
    assert collector.flush() == 1
    errors = {
        s.labels["reason"]: s.value
        for family in collector.metrics.registry.collect()
        if family.name == "botcopier_collector_errors"
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert errors == {
        "decode": 2,
        "unknown_fingerprint": 1,
        "schema_mismatch": 1,
        "empty_value": 1,
        "unknown_topic": 1,
    }
    assert sample(collector, "botcopier_collector_events_total", topic="bot-metrics") == 1


def test_a_restarted_collector_shows_the_stored_values_at_once(tmp_path):
    path = tmp_path / "collector.sqlite"
    first = make_collector(MetricsStore(path))
    feed(first, "bot-metrics", bot_row("a1", 100, win_rate=0.3), bot_row("a2", 200, win_rate=0.6))
    feed(first, "ea-metrics", ea_row("m1", 50, file_write_errors=2))
    first.flush()
    first.store.close()

    second = make_collector(MetricsStore(path))
    assert sample(second, "botcopier_bot_win_rate", **bot(1, 7, "agents")) is None
    assert second.reload_gauges() == 2
    assert sample(second, "botcopier_bot_win_rate", **bot(123456, 777, "ea")) == 0.55
    assert sample(second, "botcopier_ea_file_write_errors", account="123456", magic="777") == 2
    assert sample(second, "botcopier_bot_win_rate", **bot(1, 7, "agents")) == 0.6


def test_error_reasons_are_snake_case_class_names():
    class CorruptPayloadError(Exception):
        pass

    assert error_reason(CorruptPayloadError()) == "corrupt_payload"
    assert error_reason(ValueError()) == "value"


async def _http_scenario(store: MetricsStore, metrics: CollectorMetrics) -> dict[str, object]:
    http = CollectorHttp(store, metrics, health=lambda: {"status": "ok"})
    await http.start("127.0.0.1", 0)
    base = f"http://127.0.0.1:{http.port}"
    replies: dict[str, object] = {}
    try:
        async with aiohttp.ClientSession() as session:
            for path in ("/metrics?limit=2", "/metrics", "/metrics?limit=abc", "/metrics?limit=0"):
                async with session.get(base + path) as response:
                    replies[path] = (response.status, await response.json())
            async with session.get(base + "/prometheus") as response:
                replies["/prometheus"] = (response.status, await response.text())
            async with session.get(base + "/healthz") as response:
                replies["/healthz"] = (response.status, await response.json())
    finally:
        await http.stop()
    return replies


def test_http_serves_newest_rows_as_json_prometheus_text_and_rejects_bad_limits():
    collector = make_collector()
    feed(collector, "bot-metrics", *(bot_row(f"b{t}", t, sharpe=float(t)) for t in range(5)))
    feed(collector, "ea-metrics", ea_row("m1", 1))
    collector.flush()
    replies = asyncio.run(_http_scenario(collector.store, collector.metrics))

    status, body = replies["/metrics?limit=2"]
    assert status == 200
    assert body["limit"] == 2
    assert [row["event_id"] for row in body["bot_metrics"]] == ["b4", "b3"]
    assert [row["event_id"] for row in body["ea_metrics"]] == ["m1"]
    assert body["bot_metrics"][0]["sharpe"] == 4.0
    status, body = replies["/metrics"]
    assert status == 200 and body["limit"] == 100 and len(body["bot_metrics"]) == 5
    for bad in ("abc", "0"):
        status, body = replies[f"/metrics?limit={bad}"]
        assert status == 400
        assert body == {"error": f"limit must be a whole number from 1 to 10000, got '{bad}'"}

    status, text = replies["/prometheus"]
    families = {family.name: family for family in text_string_to_metric_families(text)}
    win_rate = families["botcopier_bot_win_rate"].samples
    assert sorted((s.labels["source"], s.labels["account"], s.value) for s in win_rate) == [
        ("agents", "1", 0.55),
        ("ea", "123456", 0.55),
    ]
    events = families["botcopier_collector_events"]
    assert events.type == "counter"
    totals = {s.labels["topic"]: s.value for s in events.samples if s.name.endswith("_total")}
    assert totals == {"bot-metrics": 5, "ea-metrics": 1, "retrain-requests": 0, "drift": 0}
    assert replies["/healthz"] == (200, {"status": "ok"})


def test_infinite_figures_are_served_as_null_in_json():
    store = MetricsStore(":memory:")
    store.add_many("ea_metrics", [ea_row("m1", 1, sharpe=math.inf)])
    (status, body) = asyncio.run(_http_scenario(store, CollectorMetrics()))["/metrics?limit=2"]
    assert status == 200
    assert body["ea_metrics"][0]["sharpe"] is None


# The dashboard ----------------------------------------------------------------------------

NAMED_SERIES = (
    "botcopier_bot_win_rate",
    "botcopier_bot_max_drawdown",
    "botcopier_bot_sharpe",
    "botcopier_bot_trade_count",
    "botcopier_collector_events_total",
    "botcopier_collector_errors_total",
    "botcopier_retrain_requests_total",
    "botcopier_drift_events_total",
)


def dashboard_exprs() -> dict[str, list[str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return {
        panel["title"]: [target["expr"] for target in panel["targets"]]
        for panel in dashboard["panels"]
        if panel["type"] != "row"
    }


@pytest.mark.parametrize("series", NAMED_SERIES)
def test_the_dashboard_has_a_panel_over_each_named_series(series):
    panels = [
        title for title, exprs in dashboard_exprs().items() if any(series in e for e in exprs)
    ]
    assert panels, f"no panel queries {series}"


def test_every_dashboard_series_is_one_the_collector_serves():
    collector = make_collector()
    feed(collector, "bot-metrics", bot_row("a", 1))
    feed(collector, "ea-metrics", ea_row("m", 1))
    feed(collector, "retrain-requests", sample_records()["RetrainRequest"])
    feed(collector, "drift", sample_records()["DriftEvent"])
    collector.ingest(SETTINGS.topic("drift"), b"junk")
    collector.flush()
    served = {s.name for family in collector.metrics.registry.collect() for s in family.samples}
    for title, exprs in dashboard_exprs().items():
        for expr in exprs:
            names = {word for word in _identifiers(expr) if word.startswith("botcopier_")}
            assert names and names <= served, f"{title}: {expr} queries {names - served}"


def test_the_dashboard_is_a_grafana_dashboard_with_a_prometheus_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert {"account", "magic", "source"} <= set(variables)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
            assert panel["targets"]


def _identifiers(expr: str) -> set[str]:
    import re

    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))


def test_the_cli_reports_an_unusable_database_in_one_line(tmp_path):
    from tests.test_cli import run_cli

    result = run_cli(
        "collector",
        "--database",
        str(tmp_path),  # a directory
        "--port",
        "1",
        env={"BOTCOPIER_PATHS__STATE_DIR": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("botcopier: error: cannot open the metrics database")
    assert "Traceback" not in result.stderr


def test_the_cli_reports_a_port_in_use_in_one_line(tmp_path):
    import socket

    from tests.test_cli import run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "collector", "--port", str(port), env={"BOTCOPIER_PATHS__STATE_DIR": str(tmp_path)}
        )
    assert result.returncode == 2, result.stderr
    assert f"botcopier: error: cannot listen on 127.0.0.1:{port}" in result.stderr
