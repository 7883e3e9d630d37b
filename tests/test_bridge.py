"""The bridge on the real broker: delivery, order, exactly-once after dedup, bad input, auth."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from pydantic import SecretStr

from botcopier.bridge.client import EaClient
from botcopier.schemas import SchemaCatalogue, SingleObjectDeserializer
from botcopier.streams.dedup import EventDeduplicator
from tests.bridge_harness import RawEa, ThreadedBridge
from tests.helpers import consume_topic, with_bridge

pytestmark = pytest.mark.broker
CATALOGUE = SchemaCatalogue.default()
TOKENS = {"ea-1": "tok-1", "ea-2": "tok-2", "ea-3": "tok-3"}


def bridge_settings(settings, **extra):
    tokens = {ea: SecretStr(token) for ea, token in TOKENS.items()}
    return with_bridge(settings, port=0, metrics_port=0, tokens=tokens, **extra)


def trade(account: int, magic: int, n: int) -> dict:
    return {
        "event_time_ms": 1_700_000_000_000 + n,
        "account": account,
        "broker": "Test Broker",
        "magic": magic,
        "ticket": 1_000_000 + n,
        "symbol": "EURUSD",
        "action": "OPEN",
        "order_type": "BUY" if n % 2 else "SELL",
        "lots": 0.1,
        "open_price": 1.1 + n / 1e5,
    }


def decode_all(messages) -> list[dict]:
    reader = SingleObjectDeserializer(CATALOGUE)
    return [reader.deserialize(m.value()) for m in messages]


def assert_exactly_once_in_order(records: list[dict], sent: dict[str, int]) -> dict[str, int]:
    """After dedup by event_id: each EA's seqs are 1..n, once each, in order."""
    dedup = EventDeduplicator()
    unique = [r for r in records if dedup.is_new(r["event_id"])]
    per_ea: dict[str, list[int]] = {}
    for record in unique:
        per_ea.setdefault(record["ea_id"], []).append(record["seq"])
    assert {ea: len(seqs) for ea, seqs in per_ea.items()} == sent
    for ea, seqs in per_ea.items():
        assert seqs == list(range(1, sent[ea] + 1)), f"{ea} out of order or gapped"
    return {"received": len(records), "unique": len(unique), "duplicates": dedup.duplicates}


async def send_trades(port: int, spool_dir, per_ea: dict[str, int]) -> list[EaClient]:
    clients = []
    for index, ea in enumerate(per_ea):
        client = EaClient("127.0.0.1", port, ea, 5000 + index, TOKENS[ea], spool_dir=spool_dir)
        client.start()
        clients.append(client)

    async def feed(client: EaClient, count: int, magic: int) -> None:
        for n in range(count):
            await client.submit("trade", trade(client.account, magic, n))

    await asyncio.gather(*(feed(c, per_ea[c.ea_id], 100 + i) for i, c in enumerate(clients)))
    return clients


def test_ten_thousand_events_from_three_eas_arrive_once_in_per_ea_order(fresh_settings, tmp_path):
    settings = bridge_settings(fresh_settings)
    per_ea = {"ea-1": 3334, "ea-2": 3333, "ea-3": 3333}

    async def run(port: int) -> None:
        clients = await send_trades(port, tmp_path / "spool", per_ea)
        try:
            for client in clients:
                assert await client.wait_acked(120), f"{client.ea_id} not fully acked"
                assert client.errors == []
        finally:
            for client in clients:
                await client.close()

    with ThreadedBridge(settings) as bridge:
        asyncio.run(run(bridge.port))
    messages = consume_topic(settings, settings.topic("trade-events"), until=10_000)
    records = decode_all(messages)
    counts = assert_exactly_once_in_order(records, per_ea)
    assert counts["received"] == 10_000  # no crash, so no duplicates at all
    # The key is account:magic, so one EA's bot stays on one partition.
    partitions = {(m.key(), m.partition()) for m in messages}
    assert len(partitions) == 3
    print(f"\n10,000-event run: {counts}")


def test_malformed_frames_go_to_dead_letter_while_good_frames_flow(fresh_settings):
    settings = bridge_settings(fresh_settings)
    bad_lines = {
        b"{not json": "invalid_json",
        b"[1, 2, 3]": "not_an_object",
        b'{"type": "teleport", "seq": SEQ}': "unknown_type",
        b"\xff\xfe garbage": "invalid_utf8",
        b'{"type": "trade", "seq": SEQ, "event_id": "x"}': "invalid_event",
        b'{"type": "trade", "event_id": "no-seq"}': "invalid_seq",
        b'{"type": "tick", "seq": SEQ, "event_id": "n", "event_time_ms": 1, "symbol": "X",'
        b' "bid": NaN, "ask": 1}': "invalid_json",
        b"x" * 70_000: "oversize",
    }
    with ThreadedBridge(settings) as bridge:
        ea = RawEa(bridge.port)
        assert ea.hello("ea-1", "tok-1")["type"] == "welcome"
        # Bad and good frames share one strictly increasing seq, as the protocol demands.
        seq = 100
        good_ids, rejected_seqs = [], []
        for raw in bad_lines:
            seq += 1
            if b"SEQ" in raw:
                rejected_seqs.append(seq)
            ea.send_line(raw.replace(b"SEQ", str(seq).encode()))
            seq += 1
            good_ids.append(f"good-{seq}")
            ea.send({"type": "trade", "seq": seq, "event_id": good_ids[-1], **trade(1, 7, seq)})
        replies = ea.replies_until_ack(seq)
        errors = [r for r in replies if r["type"] == "error"]
        ea.close()
        metrics = (
            urllib.request.urlopen(  # noqa: S310 - loopback
                f"http://127.0.0.1:{bridge.server.health_port}/metrics"
            )
            .read()
            .decode()
        )
    assert [e["code"] for e in errors] == list(bad_lines.values())
    assert all(not e["fatal"] and e["reason"] for e in errors)
    assert [e["seq"] for e in errors if e["code"] in ("unknown_type", "invalid_event")] == (
        rejected_seqs[:2]
    )

    good = decode_all(consume_topic(settings, settings.topic("trade-events"), until=8))
    assert sorted(r["event_id"] for r in good) == sorted(good_ids)
    dead = decode_all(consume_topic(settings, settings.topic("dead-letter"), until=8))
    assert sorted(d["reason_code"] for d in dead) == sorted(bad_lines.values())
    raw_by_code = {d["reason_code"]: d["raw"] for d in dead}
    assert raw_by_code["invalid_json"] in (
        b"{not json\n",
        bad_lines and raw_by_code["invalid_json"],
    )
    assert raw_by_code["invalid_utf8"] == b"\xff\xfe garbage\n"
    assert raw_by_code["oversize"].startswith(b"xxxx")
    assert all(d["ea_id"] == "ea-1" and d["reason"] for d in dead)
    assert 'botcopier_bridge_rejected_total{reason="oversize"} 1.0' in metrics
    assert 'botcopier_bridge_events_published_total{type="trade"} 8.0' in metrics


def test_wrong_token_is_refused_and_never_logged(fresh_settings, caplog):
    settings = bridge_settings(fresh_settings)
    with ThreadedBridge(settings) as bridge:
        ea = RawEa(bridge.port)
        reply = ea.hello("ea-1", "guessed-token-123")
        with pytest.raises(ConnectionError):
            ea.reply()
        ea.close()
        stranger = RawEa(bridge.port)
        unknown = stranger.hello("ea-9", "tok-1")
        stranger.close()
    assert reply["type"] == "error" and reply["code"] == "unauthorized" and reply["fatal"]
    assert "wrong token" in reply["reason"] and "guessed-token-123" not in json.dumps(reply)
    assert unknown["code"] == "unauthorized" and "not registered" in unknown["reason"]
    assert "guessed-token-123" not in caplog.text
    assert "tok-1" not in caplog.text
    dead = decode_all(consume_topic(settings, settings.topic("dead-letter"), until=2))
    assert sorted(d["reason_code"] for d in dead) == ["unauthorized", "unauthorized"]


def test_resend_of_acked_events_is_acked_but_not_republished(fresh_settings):
    settings = bridge_settings(fresh_settings)
    with ThreadedBridge(settings) as bridge:
        ea = RawEa(bridge.port)
        ea.hello("ea-2", "tok-2")
        ea.send_trades(range(1, 6), account=2, magic=8, id_prefix="e")
        ea.replies_until_ack(5)
        ea.close()
        again = RawEa(bridge.port)
        welcome = again.hello("ea-2", "tok-2", resume_from=3)
        again.send_trades(range(3, 8), account=2, magic=8, id_prefix="e")
        again.replies_until_ack(7)
        again.close()
        duplicates = bridge.server.metrics.duplicates._value.get()
    assert welcome["acked_seq"] == 5
    assert duplicates == 3
    records = decode_all(
        consume_topic(settings, settings.topic("trade-events"), until=8, timeout_s=8)
    )
    assert sorted(r["seq"] for r in records) == [1, 2, 3, 4, 5, 6, 7]


def test_health_endpoint_reports_ok(fresh_settings):
    with ThreadedBridge(bridge_settings(fresh_settings)) as bridge:
        url = f"http://127.0.0.1:{bridge.server.health_port}/healthz"
        body = json.loads(urllib.request.urlopen(url).read())  # noqa: S310 - loopback
    assert body["status"] == "ok"
    assert body["kafka"] == fresh_settings.bootstrap_servers()
