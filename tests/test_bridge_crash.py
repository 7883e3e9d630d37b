"""The bridge SIGKILLed mid-stream and restarted: nothing lost, duplicates only in Kafka.

The EAs keep submitting while the bridge is dead (their spools grow), reconnect with
backoff, and replay what was not acked. Events the dead bridge had published but not yet
acked reach Kafka twice; dedup by event_id leaves each exactly once, in per-EA order.
"""

from __future__ import annotations

import asyncio

import pytest

from botcopier.bridge.client import EaClient
from tests.bridge_harness import bridge_process
from tests.helpers import consume_topic, free_port
from tests.test_bridge import TOKENS, assert_exactly_once_in_order, decode_all, trade

pytestmark = pytest.mark.broker


def test_bridge_sigkill_mid_stream_loses_nothing(fresh_settings, tmp_path):
    settings = fresh_settings
    port = free_port()
    env = {
        "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path / "state"),
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "BOTCOPIER_BRIDGE__METRICS_PORT": "0",
        **{f"BOTCOPIER_BRIDGE__TOKENS__{ea}": token for ea, token in TOKENS.items()},
    }
    per_ea = {"ea-1": 3334, "ea-2": 3333, "ea-3": 3333}
    total = sum(per_ea.values())
    observed = {}

    async def run(bridge) -> None:
        clients = [
            EaClient("127.0.0.1", port, ea, 7000 + i, TOKENS[ea], spool_dir=tmp_path / "spool")
            for i, ea in enumerate(per_ea)
        ]
        for client in clients:
            client.start()

        async def feed(client: EaClient, magic: int) -> None:
            for n in range(per_ea[client.ea_id]):
                await client.submit("trade", trade(client.account, magic, n))
                if n % 50 == 0:
                    await asyncio.sleep(0.005)  # a steady stream, not one burst

        feeding = asyncio.gather(*(feed(c, 200 + i) for i, c in enumerate(clients)))
        while sum(c.acked_seq for c in clients) < total * 0.3:
            await asyncio.sleep(0.01)
        bridge.kill()
        observed["acked_at_kill"] = sum(c.acked_seq for c in clients)
        await asyncio.sleep(1.0)  # EAs keep going into their spools while it is down
        observed["spooled_while_down"] = sum(c.unacked_count for c in clients)
        bridge.start(port)
        await feeding
        for client in clients:
            assert await client.wait_acked(120), f"{client.ea_id} not fully acked"
        observed["reconnects"] = sum(c.connects for c in clients) - len(clients)
        for client in clients:
            await client.close()

    with bridge_process(env, tmp_path / "bridge.log", port) as bridge:
        asyncio.run(run(bridge))
        assert bridge.terminate() == 0  # graceful stop after the crash-restart

    messages = consume_topic(settings, settings.topic("trade-events"), until=total, timeout_s=60)
    counts = assert_exactly_once_in_order(decode_all(messages), per_ea)
    print(f"\nSIGKILL run: {observed} {counts}")
    assert observed["reconnects"] >= len(per_ea)
    assert observed["spooled_while_down"] > 0
