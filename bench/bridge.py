"""Bridge benchmark: raw producer rate vs the bridge end to end, and ack latency at 1,000/s.

One command: ``.venv/bin/python bench/bridge.py`` (starts its own Apache Kafka on free
ports; ``--bootstrap host:port`` uses a running broker instead). All figures come from the
same run on the same broker:

1. raw: one confluent-kafka producer with exactly the bridge's producer settings (acks=all,
   idempotent, lz4, the bridge's linger) sends N encoded TradeEvents as fast as it can;
   msg/s until every delivery is confirmed. Same settings, so the ratio is the bridge's
   own overhead.
2. bridge: simulated EAs send N TradeEvents through `botcopier bridge` (its own process)
   as fast as acks allow; msg/s from the first send to the last ack. The EAs use the real
   client (spool, acks) with a cheap frame encoder: see `fast_frame`.
3. latency: the EAs offer a fixed 1,000 events/s for a fixed time; per event, the time
   from handing it to the EA client to receiving its ack.

Ends with ``RESULT raw_msgs_per_s=… bridge_msgs_per_s=… ratio=… ack_p50_ms=… ack_p99_ms=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from confluent_kafka import Producer  # noqa: E402

from bench.common import bench_environ, percentile, say  # noqa: E402
from botcopier.bridge.client import EaClient  # noqa: E402
from botcopier.bridge.protocol import encode_frame  # noqa: E402
from botcopier.bridge.publisher import BRIDGE_PRODUCER  # noqa: E402
from botcopier.config import Settings, load_settings  # noqa: E402
from botcopier.infra.broker import start_broker, stop  # noqa: E402
from botcopier.schemas.codec import ValueCodec  # noqa: E402
from botcopier.streams.admin import create_topics  # noqa: E402
from botcopier.streams.clients import producer_config  # noqa: E402
from tests.bridge_harness import BridgeProcess  # noqa: E402
from tests.helpers import free_port  # noqa: E402

EAS = ("bench-1", "bench-2", "bench-3")
TOKEN = "bench-token"  # noqa: S105 - the benchmark's own throwaway bridge


def trade(account: int, magic: int, n: int) -> dict:
    return {
        "event_time_ms": int(time.time() * 1000),
        "account": account,
        "broker": "Bench Broker",
        "magic": magic,
        "ticket": 10_000_000 + n,
        "symbol": "EURUSD",
        "action": "OPEN",
        "order_type": "BUY",
        "lots": 0.1,
        "open_price": 1.1,
        "sl": 1.09,
        "tp": 1.12,
        "comment": "bench",
        "spread_points": 10,
        "remaining_lots": 0.1,
    }


def fast_frame(frame_type: str, seq: int, record: dict) -> bytes:
    """A valid (not canonical) frame at a tenth of the canonical encoder's cost.

    The load generator shares this machine's two cores with the bridge and Kafka; real EAs
    run in MT4 elsewhere. Keeping its CPU small keeps it out of the bridge's figure.
    """
    return encode_frame({"type": frame_type, "seq": seq, **record})


def raw_producer_rate(settings: Settings, count: int) -> float:
    codec = ValueCodec.from_settings(settings)
    topic = settings.topic("trade-events")
    values = []
    for n in range(1000):
        record = {**trade(1, 1, n), "event_id": uuid.uuid4().hex, "ea_id": "raw", "seq": n + 1}
        values.append(codec.encode("TradeEvent", record, topic=topic))
    producer = Producer(producer_config(settings, **BRIDGE_PRODUCER))
    failures = []

    def on_delivery(err, _msg) -> None:
        if err is not None:
            failures.append(err)

    started = time.perf_counter()
    for n in range(count):
        while True:
            try:
                producer.produce(topic, value=values[n % 1000], key=b"1:1", on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"raw producer failed: {failures[0]}")
    return count / elapsed


async def bridge_rate(port: int, spool: Path, count: int) -> float:
    clients = [
        EaClient("127.0.0.1", port, ea, 100 + i, TOKEN, spool_dir=spool / "max", encode=fast_frame)
        for i, ea in enumerate(EAS)
    ]
    for client in clients:
        client.start()
    per_ea = count // len(clients)
    started = time.perf_counter()

    async def feed(client: EaClient, magic: int) -> None:
        for n in range(per_ea):
            await client.submit("trade", trade(client.account, magic, n))

    await asyncio.gather(*(feed(c, 10 + i) for i, c in enumerate(clients)))
    for client in clients:
        if not await client.wait_acked(300):
            raise SystemExit(f"{client.ea_id}: not all events acked")
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.close()
    return per_ea * len(clients) / elapsed


async def ack_latencies(port: int, spool: Path, rate_per_s: float, seconds: float) -> list[float]:
    latencies: list[float] = []
    clients = []
    for i, ea in enumerate(EAS):
        sent_at: dict[int, float] = {}

        def acked(seq: int, sent_at: dict[int, float] = sent_at) -> None:
            latencies.append(time.perf_counter() - sent_at.pop(seq))

        client = EaClient(
            "127.0.0.1",
            port,
            ea,
            200 + i,
            TOKEN,
            spool_dir=spool / "paced",
            on_acked=acked,
            encode=fast_frame,
        )
        client.sent_at = sent_at
        client.start()
        clients.append(client)
    await asyncio.sleep(0.5)  # connect before the clock starts
    per_ea_rate = rate_per_s / len(clients)
    total_per_ea = int(per_ea_rate * seconds)

    async def paced(client: EaClient, magic: int) -> None:
        start = time.perf_counter()
        for n in range(total_per_ea):
            delay = start + n / per_ea_rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client.sent_at[client.next_seq] = time.perf_counter()
            await client.submit("trade", trade(client.account, magic, n))

    await asyncio.gather(*(paced(c, 20 + i) for i, c in enumerate(clients)))
    for client in clients:
        await client.wait_acked(60)
        await client.close()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", help="use this running broker instead of starting one")
    parser.add_argument("--events", type=int, default=30_000, help="events per rate run")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered load, events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency run length")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="botcopier-bench-"))
    environ = bench_environ(work, args.bootstrap)
    settings = load_settings(environ=environ)
    owned = not args.bootstrap
    if owned:
        start_broker(settings, progress=lambda line: say(f"[broker] {line}"))
    bridge = None
    try:
        create_topics(settings)
        say(f"1/3 raw producer: {args.events} TradeEvents...")
        raw = raw_producer_rate(settings, args.events)
        say(f"    {raw:,.0f} msg/s")

        port = free_port()
        bridge_env = {
            **environ,
            "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
            "BOTCOPIER_BRIDGE__METRICS_PORT": "0",
            **{f"BOTCOPIER_BRIDGE__TOKENS__{ea}": TOKEN for ea in EAS},
        }
        bridge = BridgeProcess(bridge_env, work / "bridge.log")
        bridge.start(port)
        say(f"2/3 bridge end to end: {args.events} TradeEvents from {len(EAS)} EAs...")
        through_bridge = asyncio.run(bridge_rate(port, work / "spool", args.events))
        say(f"    {through_bridge:,.0f} msg/s")

        say(f"3/3 ack latency at {args.rate:,.0f} events/s for {args.seconds:.0f} s...")
        latencies = asyncio.run(ack_latencies(port, work / "spool", args.rate, args.seconds))
        p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
        say(f"    {len(latencies)} acks: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    finally:
        if bridge is not None:
            bridge.terminate()
        if owned:
            stop(settings, progress=lambda line: say(f"[broker] {line}"))
    say(
        f"RESULT raw_msgs_per_s={raw:.0f} bridge_msgs_per_s={through_bridge:.0f} "
        f"ratio={through_bridge / raw:.3f} offered_per_s={args.rate:.0f} "
        f"ack_p50_ms={p50:.2f} ack_p99_ms={p99:.2f} acks={len(latencies)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
