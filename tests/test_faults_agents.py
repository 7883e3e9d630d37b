"""Faults in the agents: a worker SIGKILLed and restarted; one of two workers killed.

100,000 trade events from 8 EAs (32 bots, a quarter of the events closes) go through a real
bridge into `trade-events` while `botcopier agents` workers count them. Afterwards every
event is in Kafka at least once, and downstream exactly once: each distinct close has one
distinct BotMetrics record (a close redone after the kill republishes the same numbers
under the same id), and each bot's last record counts exactly its distinct closes (all
closes fall inside the 30-day window).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from botcopier.config import Settings
from botcopier.streams.admin import group_assignments, wait_for_group
from tests.faults.checks import read_events, read_until, verify_delivery, verify_effects
from tests.faults.report import report
from tests.faults.stack import start_bridge, start_worker
from tests.faults.traffic import Fault, TrafficPlan, closes_by_bot, run_traffic, sent_event_ids

pytestmark = [pytest.mark.broker, pytest.mark.faults]
PLAN = TrafficPlan(eas=8, events_per_ea=12_500, events_per_second=6_000)
FIGURES = ("trade_count", "win_rate", "avg_profit", "total_profit", "max_drawdown", "sharpe")
TRADE_PARTITIONS = 6


def _group(settings: Settings) -> str:
    return f"{settings.kafka.topic_prefix}agents"


def _run(settings: Settings, tmp_path, fault: Fault) -> tuple[dict, list[dict], object]:
    """Traffic through a bridge process while ``fault`` strikes; then the delivery report
    and the bot-metrics records once every close has one (or at the timeout)."""
    bridge, port = start_bridge(settings, PLAN, tmp_path)
    try:
        result = asyncio.run(run_traffic(PLAN, port, tmp_path / "spool", fault))
        assert bridge.terminate() == 0
    finally:
        bridge.kill()
    delivery = verify_delivery(
        sent_event_ids(PLAN, result.sent), read_events(settings, "trade-events")
    )
    result.notes["traffic_s"] = round(result.seconds, 1)
    closes = closes_by_bot(PLAN, result.sent)
    counting = time.monotonic()
    wanted = {f"bm-{c}" for ids in closes.values() for c in ids}
    missing = set(wanted)
    looked_at = [0]

    def all_counted(records: list[dict]) -> bool:
        missing.difference_update(r["event_id"] for r in records[looked_at[0] :])
        looked_at[0] = len(records)
        return not missing

    metrics = read_until(settings, "bot-metrics", all_counted)
    result.notes["agents_behind_s"] = round(time.monotonic() - counting, 1)
    effects = verify_effects(
        closes,
        metrics,
        effect_of="bm-{}".format,
        content=lambda m: tuple(m[f] for f in FIGURES),
        counted=lambda m: (f"{m['account']}:{m['magic']}", m["trade_count"]),
    )
    return {"result": result, "delivery": delivery, "effects": effects}, metrics, closes


def _check(request, scenario: str, started: float, run: dict, **extra: object) -> None:
    delivery, effects, result = run["delivery"], run["effects"], run["result"]
    report(request, scenario, time.monotonic() - started, **delivery.counts(),
           **effects.counts(), **extra, **result.notes)  # fmt: skip
    assert delivery.ok, delivery.problems()
    assert result.total_sent == PLAN.total >= 100_000
    assert effects.ok, effects.problems()
    assert effects.distinct == effects.inputs == 24_992  # 781 closes of each of 32 bots


def _kill_at(fraction: float, kill: Callable[[], None], then: Callable[[], object]) -> Fault:
    async def fault(traffic) -> None:
        await traffic.wait_acked(fraction)
        traffic.notes["acked_at_kill"] = traffic.acked
        kill()
        await asyncio.to_thread(then)

    return fault


def test_agents_worker_sigkilled_and_restarted_counts_each_close_once(
    fresh_settings, tmp_path, request
):
    settings = fresh_settings
    started = time.monotonic()
    workers = [start_worker(settings, tmp_path, "first")]
    wait_for_group(settings, _group(settings), settings.topic("trade-events"))

    def restart() -> None:
        workers.append(start_worker(settings, tmp_path, "second"))

    try:
        run, _metrics, _closes = _run(settings, tmp_path, _kill_at(0.4, workers[0].kill, restart))
    finally:
        for worker in workers:
            worker.kill()
    _check(request, "agents-worker-sigkill", started, run)


def test_one_of_two_agents_workers_killed_the_other_takes_over(fresh_settings, tmp_path, request):
    settings = fresh_settings
    started = time.monotonic()
    group, topic = _group(settings), settings.topic("trade-events")
    # The shortest session timeout the settings allow: the survivor waits that long.
    workers = [start_worker(settings, tmp_path, n, session_timeout_s="6") for n in ("w1", "w2")]
    owners: dict[str, object] = {}

    def takeover() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            members = group_assignments(settings, group, topic)
            if len(members) == 1 and members[0] == set(range(TRADE_PARTITIONS)):
                owners["after_kill"] = members
                owners["takeover_s"] = round(time.monotonic() - killed, 1)
                return
            time.sleep(0.5)
        owners["after_kill"] = group_assignments(settings, group, topic)

    try:
        owners["before"] = wait_for_group(settings, group, topic, members=2)
        killed = 0.0

        def kill() -> None:
            nonlocal killed
            workers[0].kill()
            killed = time.monotonic()

        run, _metrics, _closes = _run(settings, tmp_path, _kill_at(0.4, kill, takeover))
    finally:
        for worker in workers:
            worker.kill()
    _check(request, "agents-two-workers-one-killed", started, run,
           takeover_s=owners.get("takeover_s"))  # fmt: skip
    assert len(owners["before"]) == 2 and not set.intersection(*owners["before"])
    assert owners["after_kill"] == [set(range(TRADE_PARTITIONS))], owners
