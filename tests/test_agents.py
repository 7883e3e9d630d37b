"""The Faust agents worker on the real broker: metrics, one retrain request, no double counts."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from confluent_kafka import Producer

from botcopier.schemas.codec import ValueCodec
from botcopier.services import ServiceProcess, botcopier_command
from botcopier.streams.clients import producer_config
from tests.helpers import consume_topic, free_port
from tests.test_bridge import decode_all
from tests.test_rolling_metrics import assert_close, pandas_metrics

pytestmark = pytest.mark.broker
HOUR = 3_600_000


def degrading_bot(closes: int = 160) -> list[dict]:
    """Closes every 12 h of bot 42:1001: a 75% win rate, then 10%."""
    rng = random.Random(21)
    events, t = [], 1_735_689_600_000
    for n in range(closes):
        t += 12 * HOUR
        win = rng.random() < (0.75 if n < closes // 2 else 0.10)
        events.append(
            {
                "event_id": f"close-{n}",
                "event_time_ms": t,
                "account": 42,
                "broker": "B",
                "magic": 1001,
                "ticket": 9000 + n,
                "symbol": "EURUSD",
                "action": "CLOSE",
                "order_type": "BUY",
                "lots": 0.1,
                "open_price": 1.1,
                "close_price": 1.1,
                "close_time_ms": t,
                "profit": 30.0 if win else -25.0,
                "swap": -0.2,
                "commission": -0.7,
                "remaining_lots": 0.0,
            }
        )
    return events


def test_worker_publishes_metrics_one_retrain_and_ignores_duplicates(fresh_settings, tmp_path):
    settings = fresh_settings
    codec = ValueCodec.from_settings(settings)
    events = degrading_bot()
    topic = settings.topic("trade-events")
    producer = Producer(producer_config(settings))
    for event in [*events, *events[40:60]]:  # the second 40..60 are a replay after a crash
        value = codec.encode("TradeEvent", event, topic=topic)
        producer.produce(topic, key=b"42:1001", value=value)
    assert producer.flush(30) == 0
    worker = ServiceProcess(
        "agents",
        botcopier_command("agents", "--web-port", str(free_port())),
        {
            "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
            "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path),
            # Only the win-rate trigger here: drift and drawdown would add their own requests.
            "BOTCOPIER_AGENTS__DRIFT_DETECTORS": "",
            "BOTCOPIER_AGENTS__MAX_DRAWDOWN": "1000000",
            "BOTCOPIER_AGENTS__DRAWDOWN_REARM": "900000",
        },
        tmp_path / "agents.log",
    )
    worker.start()
    try:
        metrics = decode_all(
            consume_topic(settings, settings.topic("bot-metrics"), until=len(events), timeout_s=120)
        )
        requests = decode_all(consume_topic(settings, settings.topic("retrain-requests"), until=1))
    finally:
        worker.kill()
    assert len(metrics) == len(events), worker.log_tail(40)  # duplicates produced nothing
    last = metrics[-1]
    frame = pd.DataFrame(
        [(e["close_time_ms"], e["profit"] + e["swap"] + e["commission"]) for e in events],
        columns=["time", "net"],
    )
    expected = pandas_metrics(frame, events[-1]["close_time_ms"], 30)
    assert_close({k: last[k] for k in expected}, expected)
    assert last["last_event_id"] == events[-1]["event_id"]
    assert [r["reason"] for r in requests] == ["win_rate"]
    request = requests[0]
    assert request["last_event_id"].startswith("close-")
    [position] = request["from_offsets"]
    assert position["topic"] == topic and position["offset"] >= 0
