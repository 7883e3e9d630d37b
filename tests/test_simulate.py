"""`botcopier simulate` against a real bridge and broker, including a bridge that starts late."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import pytest
from pydantic import SecretStr

from botcopier.bridge.simulator.run import SimulationPlan, simulate
from tests.bridge_harness import ThreadedBridge
from tests.helpers import consume_topic, free_port, with_bridge
from tests.test_bridge import decode_all

pytestmark = pytest.mark.broker
TOKENS = {"sim-1": "s1", "sim-2": "s2", "sim-3": "s3"}


def sim_settings(settings):
    tokens = {ea: SecretStr(token) for ea, token in TOKENS.items()}
    return with_bridge(settings, port=free_port(), metrics_port=0, tokens=tokens)


def published(settings, topic: str, until: int) -> list[dict]:
    return decode_all(consume_topic(settings, settings.topic(topic), until=until, timeout_s=60))


def test_simulated_eas_deliver_bars_trades_and_metrics(fresh_settings, tmp_path):
    settings = sim_settings(fresh_settings)
    plan = SimulationPlan(eas=3, bars=200, seed=7)
    with ThreadedBridge(settings):
        result = asyncio.run(simulate(settings, plan, tmp_path / "spool"))
    assert result.complete
    trades_sent = sum(r.trades for r in result.reports)
    metrics_sent = sum(r.metrics for r in result.reports)
    assert trades_sent > 50 and metrics_sent == 3 * 3 * (200 // 50)

    trades = published(settings, "trade-events", trades_sent)
    bars = published(settings, "market-data", 3 * 200)
    metrics = published(settings, "ea-metrics", metrics_sent)
    assert len(trades) == trades_sent and len(bars) == 600 and len(metrics) == metrics_sent
    # Three accounts, each with the three bots' distinct magic numbers.
    bots = Counter((t["account"], t["magic"]) for t in trades)
    assert {magic for _account, magic in bots} == {1001, 1002, 1003}
    assert len({account for account, _magic in bots}) == 3
    assert {b["symbol"] for b in bars} == {"EURUSD", "GBPUSD", "AUDUSD"}
    assert all(0.0 <= m["win_rate"] <= 1.0 for m in metrics)


def test_simulator_spools_while_the_bridge_is_down_and_replays_later(fresh_settings, tmp_path):
    settings = sim_settings(fresh_settings)
    plan = SimulationPlan(eas=2, bars=150, seed=3)
    outcome = {}

    def run_simulation() -> None:
        outcome["result"] = asyncio.run(simulate(settings, plan, tmp_path / "spool"))

    simulation = threading.Thread(target=run_simulation)
    simulation.start()
    time.sleep(1.5)  # every event so far can only be in the spool
    spooled = [p.stat().st_size for p in (tmp_path / "spool").glob("*.spool")]
    with ThreadedBridge(settings):
        simulation.join(120)
    result = outcome["result"]
    assert len(spooled) == 2 and all(size > 1000 for size in spooled)
    assert result.complete
    reports = result.reports
    expected = {
        "trade-events": sum(r.trades for r in reports),
        "market-data": sum(r.bars for r in reports),
        "ea-metrics": sum(r.metrics for r in reports),
    }
    assert sum(expected.values()) == sum(r.submitted for r in reports)
    delivered = {topic: len(published(settings, topic, n)) for topic, n in expected.items()}
    assert delivered == expected
