"""The broker stopped and restarted mid-stream, its data folder kept.

This scenario runs its own Apache Kafka (the session's broker must stay up for the other
tests), started and stopped with the project's launcher. While it is down the bridge's
producer holds what it has and stops reading (bounded in flight), the EAs wait or spool;
once it is back everything flows again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from botcopier.config import Settings
from botcopier.infra.broker import ApacheKafkaLauncher, start_broker, status, stop
from botcopier.streams.admin import create_topics
from tests.faults.checks import read_events, verify_delivery
from tests.faults.report import report
from tests.faults.stack import start_bridge
from tests.faults.traffic import Traffic, TrafficPlan, run_traffic, sent_event_ids
from tests.helpers import broker_overrides, make_settings

pytestmark = [pytest.mark.broker, pytest.mark.faults]


def _say(line: str) -> None:
    print(f"[own broker] {line}", flush=True)


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A second Apache Kafka, on free ports, with a state folder that outlives restarts."""
    settings = make_settings(tmp_path_factory.mktemp("own-broker"), **broker_overrides("kafka"))
    reason = ApacheKafkaLauncher(settings, _say).unavailable_reason()
    if reason:
        pytest.skip(f"needs Apache Kafka (Tansu keeps no log across a restart): {reason}")
    start_broker(settings, progress=_say)
    try:
        create_topics(settings)
        yield settings
    finally:
        stop(settings, progress=_say)


def test_broker_stopped_and_restarted_mid_stream_loses_no_event(own_broker, tmp_path, request):
    settings = own_broker
    plan = TrafficPlan(eas=8, events_per_ea=12_500, events_per_second=6_000)
    started = time.monotonic()
    bridge, port = start_bridge(settings, plan, tmp_path)
    data_dir = status(settings).state.broker_dir

    async def stop_and_restart(traffic: Traffic) -> None:
        await traffic.wait_acked(0.3)
        traffic.notes["acked_at_stop"] = traffic.acked
        down = time.monotonic()
        await asyncio.to_thread(stop, settings, _say)
        await asyncio.sleep(2.0)
        traffic.notes["unacked_while_down"] = traffic.unacked
        await asyncio.to_thread(start_broker, settings, _say)
        traffic.notes["down_s"] = round(time.monotonic() - down, 1)

    try:
        result = asyncio.run(run_traffic(plan, port, tmp_path / "spool", stop_and_restart))
        assert bridge.terminate() == 0
    finally:
        bridge.kill()
    assert status(settings).state.broker_dir == data_dir  # the same log, not a fresh one
    delivery = verify_delivery(
        sent_event_ids(plan, result.sent), read_events(settings, "trade-events")
    )
    report(request, "broker-restart", time.monotonic() - started, **delivery.counts(),
           reconnects=result.reconnects, **result.notes)  # fmt: skip
    assert delivery.ok, delivery.problems()
    assert result.total_sent == plan.total >= 100_000
    assert result.notes["unacked_while_down"] > 0
