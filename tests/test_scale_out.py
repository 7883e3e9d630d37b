"""Scaling out on one machine: two bridges and two agents workers on the same topics.

EAs connect to two `botcopier bridge` processes (half each); two `botcopier agents` workers
share the consumer group. Every close must be counted exactly once across the workers,
each bot by one worker only, and every keyed record must stay on its bot's partition.
"""

from __future__ import annotations

import asyncio
import json
import random
import urllib.request
from collections import Counter, defaultdict

import pytest
from prometheus_client.parser import text_string_to_metric_families

from botcopier.bridge.client import EaClient
from botcopier.config import Settings
from botcopier.streams.admin import group_assignments, wait_for_group
from botcopier.streams.topics import topic
from tests.bridge_harness import BridgeProcess
from tests.helpers import consume_topic, free_port
from tests.test_agents import (
    HOUR,
    START_MS,
    agents_worker,
    assert_latest_metrics_match_pandas,
    close_event,
    read_metrics_for,
    scrape,
)
from tests.test_bridge import decode_all

pytestmark = pytest.mark.broker
EAS = ("ea1", "ea2", "ea3", "ea4")  # ea1, ea2 on bridge A; ea3, ea4 on bridge B
MAGICS = (3001, 3002, 3003)
CLOSES_PER_BOT = 15


def account_of(ea: str) -> int:
    return 8100 + EAS.index(ea)


def closes_of(ea: str, seed: int) -> list[dict]:
    """The EA's bots' closes, interleaved by event time as one terminal reports them."""
    rng = random.Random(f"{seed}-{ea}")
    events = []
    for magic in MAGICS:
        t = START_MS
        for n in range(CLOSES_PER_BOT):
            t += rng.randint(1, 20) * HOUR
            net = round(rng.gauss(2.0, 20.0), 2)
            events.append(close_event(account_of(ea), magic, n, t, net))
    return sorted(events, key=lambda e: (e["event_time_ms"], e["magic"]))


def get_json(port: int, path: str) -> dict:
    url = f"http://127.0.0.1:{port}{path}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def prometheus(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def bridge_metrics(port: int) -> dict[tuple[str, tuple], float]:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return prometheus(response.read().decode())


def start_bridge(settings: Settings, name: str, eas: tuple[str, ...], tmp_path):
    """`botcopier bridge` as its own process, on its own EA and health ports."""
    port, health_port = free_port(), free_port()
    env = {
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path / name),
        "BOTCOPIER_BRIDGE__METRICS_PORT": str(health_port),
        **{f"BOTCOPIER_BRIDGE__TOKENS__{ea}": f"token-{ea}" for ea in eas},
    }
    bridge = BridgeProcess(env, tmp_path / f"{name}.log")
    bridge.start(port)
    bridge.port, bridge.health_port = port, health_port
    return bridge


async def send_through(bridges: dict[str, BridgeProcess], closes: dict[str, list[dict]], spool):
    """Each EA sends its closes through its bridge; returns each bridge's /healthz once all
    EAs are connected."""
    clients = [
        EaClient("127.0.0.1", bridge.port, ea, account_of(ea), f"token-{ea}", spool_dir=spool / ea)
        for name, bridge in bridges.items()
        for ea in EAS
        if (ea in EAS[:2]) == (name == "a")
    ]
    for client in clients:
        client.start()
    try:
        for _ in range(200):
            if all(client.connects for client in clients):
                break
            await asyncio.sleep(0.05)
        health = {name: get_json(b.health_port, "/healthz") for name, b in bridges.items()}

        async def feed(client: EaClient) -> None:
            for record in closes[client.ea_id]:
                await client.submit("trade", record)

        await asyncio.gather(*(feed(client) for client in clients))
        for client in clients:
            assert await client.wait_acked(60), f"{client.ea_id}: not all acked"
            assert client.errors == []
    finally:
        for client in clients:
            await client.close()
    return health


def assert_one_partition_per_bot(messages, name: str) -> dict[str, int]:
    """Every record of a keyed topic is keyed by its bot, and a bot has one partition."""
    partitions = defaultdict(set)
    for message, record in zip(messages, decode_all(messages), strict=True):
        key = message.key().decode()
        assert key == f"{record['account']}:{record['magic']}", (name, key)
        partitions[key].add(message.partition())
    assert all(len(held) == 1 for held in partitions.values()), (name, dict(partitions))
    return {key: held.pop() for key, held in partitions.items()}


def test_the_account_magic_topics_have_room_to_scale_out():
    for name in ("trade-events", "ea-metrics", "bot-metrics", "drift", "decisions"):
        assert topic(name).key == "account:magic"
    # Two workers share trade-events; six partitions leave room for up to six.
    assert topic("trade-events").partitions == 6
    assert topic("bot-metrics").partitions > 1


def test_two_bridges_and_two_workers_count_every_close_once(fresh_settings, tmp_path):
    settings = fresh_settings
    group = f"{settings.kafka.topic_prefix}agents"
    trade_topic = settings.topic("trade-events")
    closes = {ea: closes_of(ea, seed=9) for ea in EAS}
    every_close = [e for ea in EAS for e in closes[ea]]
    workers, bridges = [], {}
    try:
        workers = [agents_worker(settings, tmp_path / n, n) for n in ("w1", "w2")]
        members = wait_for_group(settings, group, trade_topic, 2)
        assert len(members) == 2, (members, workers[1].log_tail(30))
        assert set.union(*members) == set(range(6)) and not set.intersection(*members)
        bridges = {
            "a": start_bridge(settings, "bridge-a", EAS[:2], tmp_path),
            "b": start_bridge(settings, "bridge-b", EAS[2:], tmp_path),
        }
        health = asyncio.run(send_through(bridges, closes, tmp_path / "spool"))
        published = {
            name: bridge_metrics(b.health_port)[
                ("botcopier_bridge_events_published_total", (("type", "trade"),))
            ]
            for name, b in bridges.items()
        }
        metrics = read_metrics_for(settings, every_close)
        after = group_assignments(settings, group, trade_topic)
        counted = [prometheus(scrape(w, "/metrics").decode()) for w in workers]
        worker_health = [json.loads(scrape(w, "/healthz")) for w in workers]
    finally:
        for bridge in bridges.values():
            bridge.kill()
        for worker in workers:
            worker.kill()

    # Both bridges served their half of the EAs, and Kafka confirmed what each took.
    for name in ("a", "b"):
        assert health[name]["status"] == "ok" and health[name]["connections"] == 2, health
        assert health[name]["kafka"] == settings.bootstrap_servers()
    assert published == {"a": 2 * 3 * CLOSES_PER_BOT, "b": 2 * 3 * CLOSES_PER_BOT}

    # Exactly once across the two workers: one metric per close, each bot's count its closes.
    assert Counter(m["event_id"] for m in metrics) == Counter(
        f"bm-{e['event_id']}" for e in every_close
    )
    trade_counts = defaultdict(int)
    for m in metrics:
        bot = (m["account"], m["magic"])
        trade_counts[bot] = max(trade_counts[bot], m["trade_count"])
    assert set(trade_counts.values()) == {CLOSES_PER_BOT}
    assert len(trade_counts) == len(EAS) * len(MAGICS)
    assert_latest_metrics_match_pandas(metrics, every_close)

    # Keys: a bot's trades, metrics (and drift, if any fired) each sit on one partition.
    trades = consume_topic(settings, trade_topic, until=len(every_close))
    bot_partition = assert_one_partition_per_bot(trades, "trade-events")
    metric_messages = consume_topic(settings, settings.topic("bot-metrics"), until=len(metrics))
    assert_one_partition_per_bot(metric_messages, "bot-metrics")
    assert_one_partition_per_bot(consume_topic(settings, settings.topic("drift"), 0, 5), "drift")

    # No bot was processed by both workers: the group never rebalanced during the run, and
    # each worker counted exactly the closes and bots of the partitions it held.
    assert sorted(map(sorted, after)) == sorted(map(sorted, members))
    by_member = []
    for held in members:
        bots = [bot for bot, p in bot_partition.items() if p in held]
        by_member.append((len(bots) * CLOSES_PER_BOT, len(bots)))
    by_worker = [
        (int(c[("botcopier_agents_closes_total", ())]), h["bots"])
        for c, h in zip(counted, worker_health, strict=True)
    ]
    assert sorted(by_worker) == sorted(by_member), (by_worker, by_member)
    assert all(closes_counted for closes_counted, _bots in by_worker), "one worker was idle"
    for c in counted:
        assert c[("botcopier_agents_duplicate_closes_total", ())] == 0
    print(f"\nscale-out: closes per worker {by_worker}, partitions {members}, bridges {published}")
