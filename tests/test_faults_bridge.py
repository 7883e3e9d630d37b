"""Faults between the EAs and Kafka: the bridge SIGKILLed, the EA link cut again and again.

100,000 trade events from 8 EAs (real `EaClient`s: spool, resend) through a real
`botcopier bridge` process into the session's Kafka. Afterwards every event is in Kafka at
least once and each EA's events are in order per partition (`verify_delivery`).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.checks import read_events, verify_delivery
from tests.faults.proxy import LinkCutter
from tests.faults.report import report
from tests.faults.stack import start_bridge
from tests.faults.traffic import Traffic, TrafficPlan, run_traffic, sent_event_ids

pytestmark = [pytest.mark.broker, pytest.mark.faults]


def test_bridge_sigkilled_twice_mid_stream_loses_no_event(fresh_settings, tmp_path, request):
    plan = TrafficPlan(eas=8, events_per_ea=12_500, events_per_second=6_000)
    started = time.monotonic()
    bridge, port = start_bridge(fresh_settings, plan, tmp_path)

    async def kill_and_restart(traffic: Traffic) -> None:
        for n, fraction in enumerate((0.3, 0.65), 1):
            await traffic.wait_acked(fraction)
            bridge.kill()
            traffic.notes[f"kill_{n}_at_s"] = round(time.monotonic() - started, 1)
            traffic.notes[f"acked_at_kill_{n}"] = traffic.acked
            await asyncio.sleep(1.0)  # the EAs keep submitting into their spools
            traffic.notes[f"spooled_while_down_{n}"] = traffic.unacked
            await asyncio.to_thread(bridge.start, port)
            traffic.notes[f"up_{n}_at_s"] = round(time.monotonic() - started, 1)
        await traffic.wait_submitted(1.0)
        traffic.notes["submitted_at_s"] = round(time.monotonic() - started, 1)

    try:
        result = asyncio.run(run_traffic(plan, port, tmp_path / "spool", kill_and_restart))
        assert bridge.terminate() == 0
    finally:
        bridge.kill()
    delivery = verify_delivery(
        sent_event_ids(plan, result.sent), read_events(fresh_settings, "trade-events")
    )
    report(request, "bridge-sigkill", time.monotonic() - started, **delivery.counts(),
           reconnects=result.reconnects, **result.notes)  # fmt: skip
    assert delivery.ok, delivery.problems()
    assert result.total_sent == plan.total >= 100_000
    assert result.reconnects >= plan.eas
    assert all(result.notes[f"spooled_while_down_{n}"] > 0 for n in (1, 2))


def test_ea_link_cut_every_half_second_loses_no_event(fresh_settings, tmp_path, request):
    plan = TrafficPlan(eas=8, events_per_ea=12_500, events_per_second=6_000)
    started = time.monotonic()
    bridge, bridge_port = start_bridge(fresh_settings, plan, tmp_path)

    async def run():
        cutter = await LinkCutter(bridge_port, cut_every_s=0.5, seed=9).start()

        async def cut_until_sent(traffic: Traffic) -> None:
            await traffic.wait_submitted(1.0, timeout_s=240)
            await cutter.stop_cutting()  # the link is restored for good: the EAs catch up

        try:
            return await run_traffic(plan, cutter.port, tmp_path / "spool", cut_until_sent), cutter
        finally:
            await cutter.close()

    try:
        result, cutter = asyncio.run(run())
        assert bridge.terminate() == 0
    finally:
        bridge.kill()
    delivery = verify_delivery(
        sent_event_ids(plan, result.sent), read_events(fresh_settings, "trade-events")
    )
    report(request, "link-cut", time.monotonic() - started, **delivery.counts(),
           cuts=cutter.cuts, links_cut=cutter.links_cut, reconnects=result.reconnects,
           most_spooled=result.most_spooled)  # fmt: skip
    assert delivery.ok, delivery.problems()
    assert result.total_sent == plan.total >= 100_000
    assert cutter.cuts >= 10 and cutter.links_cut >= 10
