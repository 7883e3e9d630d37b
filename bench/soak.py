"""Soak benchmark: N simulated EAs at a fixed event rate for a fixed time, through one bridge.

One command: ``.venv/bin/python bench/soak.py`` (starts its own Apache Kafka on free ports;
``--bootstrap host:port`` uses a running broker instead). Loopback only, bounded by
``--seconds``. `botcopier bridge` and `botcopier agents` run as their own processes; the
EAs are the real Python EA client (spool, acks, backpressure), each with three bots that
open and close trades in turn, paced so that all EAs together offer ``--rate`` events/s.

While it runs, a progress line every ``--progress-s``: events acked, acks/s and ack p99 of
the last interval, the bridge's RSS and the agents group's lag. At the end:

- throughput: events acked per second, first send to last ack (offered: ``--rate``);
- ack latency p50/p99: handing an event to the EA client to its ack (each EA first opens
  and closes one warm-up trade, not measured: the bridge's first produce waits for metadata);
- that every event was acked once and published once (the bridge's /metrics), else MISMATCH;
- the bridge process's RSS when the load starts, at the end, its max, the ratio end/start
  and the slope over the second half of the run (flat is the target: a leak shows as a
  slope that does not go away in longer soaks);
- consumer lag of the agents group on ``trade-events`` (committed offsets behind the end)
  when the last event is acked, and how long it takes to reach zero (``--no-agents``: the
  lag of a plain reader instead).

Ends with ``RESULT eas=… rate=… seconds=… events=… throughput=… ack_p50_ms=… ack_p99_ms=…
bridge_rss_start_mb=… bridge_rss_end_mb=… bridge_rss_max_mb=… rss_ratio=… lag_end=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench.bridge import fast_frame  # noqa: E402
from bench.common import bench_environ, percentile, say  # noqa: E402
from botcopier.bridge.client import EaClient  # noqa: E402
from botcopier.config import Settings, load_settings  # noqa: E402
from botcopier.infra.broker import start_broker, stop  # noqa: E402
from botcopier.services import ServiceProcess, botcopier_command  # noqa: E402
from botcopier.streams.admin import create_topics, wait_for_group  # noqa: E402
from botcopier.streams.clients import consumer_config  # noqa: E402
from tests.bridge_harness import BridgeProcess  # noqa: E402
from tests.helpers import free_port  # noqa: E402

TOKEN = "soak-token"  # noqa: S105 - the benchmark's own throwaway bridge
MAGICS = (1001, 1002, 1003)
MB = 1024 * 1024
RSS_EVERY_S = 1.0
DRAIN_TIMEOUT_S = 60.0
WARM_UP_EVENTS = 2  # an open and its close


class Trades:
    """One EA's three bots: even events open a trade, odd ones close it."""

    def __init__(self, account: int, seed: int) -> None:
        self.account = account
        self.rng = random.Random(seed)

    def event(self, n: int) -> dict:
        ticket = n // 2
        now_ms = int(time.time() * 1000)
        record = {
            "event_time_ms": now_ms,
            "account": self.account,
            "broker": "Soak Broker",
            "magic": MAGICS[ticket % len(MAGICS)],
            "ticket": 20_000_000 + ticket,
            "symbol": "EURUSD",
            "order_type": "BUY" if ticket % 2 else "SELL",
            "lots": 0.1,
            "open_price": 1.1,
            "open_time_ms": now_ms - 60_000,
            "comment": "soak",
        }
        if n % 2 == 0:
            return {**record, "action": "OPEN", "remaining_lots": 0.1}
        return {
            **record,
            "action": "CLOSE",
            "close_price": 1.1,
            "close_time_ms": now_ms,
            "profit": round(self.rng.uniform(-30, 33), 2),
            "swap": 0.0,
            "commission": -0.7,
            "remaining_lots": 0.0,
        }


class LagProbe:
    """Committed offsets of a consumer group behind the end of a topic, summed over partitions.

    Reads offsets only (no subscribe, no join), so the group it watches is not disturbed.
    """

    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        self.consumer = Consumer(consumer_config(settings, group))
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.partitions = [TopicPartition(topic, p) for p in partitions]

    def lag(self) -> int:
        total = 0
        for committed in self.consumer.committed(self.partitions, timeout=10):
            low, high = self.consumer.get_watermark_offsets(committed, timeout=10)
            total += high - (committed.offset if committed.offset >= 0 else low)
        return total

    def close(self) -> None:
        self.consumer.close()


class Reader:
    """With ``--no-agents``: a plain group consumer of trade-events whose lag is measured."""

    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        config = consumer_config(
            settings, group, **{"enable.auto.commit": True, "auto.commit.interval.ms": 1000}
        )
        self.consumer = Consumer(config)
        self.consumer.subscribe([topic])
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            self.consumer.consume(num_messages=1000, timeout=0.2)

    def close(self) -> None:
        self._running = False
        self._thread.join(5)
        self.consumer.close()


class Soak:
    """The paced EAs, their ack latencies, and the bridge's RSS over the run."""

    def __init__(self, args: argparse.Namespace, port: int, bridge_pid: int, lag: LagProbe):
        self.args = args
        self.port = port
        self.bridge = psutil.Process(bridge_pid)
        self.lag_probe = lag
        self.latencies_s: list[float] = []
        self.rss: list[tuple[float, int]] = []  # (seconds into the load, bytes)
        self.submitted = 0
        self.started = 0.0

    def ea_ids(self) -> list[str]:
        return [f"soak-{n + 1}" for n in range(self.args.eas)]

    async def run(self, spool: Path) -> float:
        """The load; returns seconds from the first send to the last ack."""
        clients = []
        for n, ea in enumerate(self.ea_ids()):
            sent_at: dict[int, float] = {}

            def acked(seq: int, sent_at: dict[int, float] = sent_at) -> None:
                sent = sent_at.pop(seq, None)
                if sent is not None:  # not a warm-up event
                    self.latencies_s.append(time.perf_counter() - sent)

            client = EaClient(
                "127.0.0.1",
                self.port,
                ea,
                9000 + n,
                TOKEN,
                spool_dir=spool,
                on_acked=acked,
                encode=fast_frame,
            )
            client.sent_at = sent_at
            client.start()
            clients.append(client)
        await self._connected(clients)
        trades = [Trades(client.account, seed=n) for n, client in enumerate(clients)]
        await self._warm_up(clients, trades)
        self.started = time.perf_counter()
        self.rss.append((0.0, self.bridge.memory_info().rss))
        sampling = asyncio.create_task(self._sample())
        try:
            await asyncio.gather(
                *(
                    self._paced(c, t, n)
                    for n, (c, t) in enumerate(zip(clients, trades, strict=True))
                )
            )
            for client in clients:
                if not await client.wait_acked(120):
                    raise SystemExit(f"{client.ea_id}: {client.unacked_count} events not acked")
            elapsed = time.perf_counter() - self.started
        finally:
            sampling.cancel()
            for client in clients:
                await client.close()
        self.rss.append((elapsed, self.bridge.memory_info().rss))
        return elapsed

    async def _connected(self, clients: list[EaClient]) -> None:
        deadline = time.monotonic() + 30
        while not all(c.connects for c in clients):
            if time.monotonic() > deadline:
                raise SystemExit(f"EAs not connected: {[c.errors for c in clients]}")
            await asyncio.sleep(0.05)

    async def _warm_up(self, clients: list[EaClient], trades: list[Trades]) -> None:
        """One trade opened and closed per EA before the clock starts: the bridge's first
        produce waits for metadata and a producer id, a start-up cost and not the soak's."""
        for client, bot in zip(clients, trades, strict=True):
            for n in range(WARM_UP_EVENTS):
                await client.submit("trade", bot.event(n))
        for client in clients:
            if not await client.wait_acked(60):
                raise SystemExit(f"{client.ea_id}: warm-up events not acked")

    async def _paced(self, client: EaClient, trades: Trades, index: int) -> None:
        per_ea_rate = self.args.rate / self.args.eas
        # Staggered starts spread the EAs' events evenly over each second.
        first = self.started + index / self.args.rate
        n = 0
        while (due := first + n / per_ea_rate) < self.started + self.args.seconds:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client.sent_at[client.next_seq] = time.perf_counter()
            await client.submit("trade", trades.event(WARM_UP_EVENTS + n))
            self.submitted += 1
            n += 1

    async def _sample(self) -> None:
        last_report = 0.0
        last_acked = 0
        while True:
            await asyncio.sleep(RSS_EVERY_S)
            now = time.perf_counter() - self.started
            self.rss.append((now, self.bridge.memory_info().rss))
            if now - last_report < self.args.progress_s:
                continue
            acked = len(self.latencies_s)
            window = self.latencies_s[last_acked:]
            p99 = percentile(window, 0.99) * 1000 if len(window) > 1 else float("nan")
            lag = await asyncio.to_thread(self.lag_probe.lag)
            rate = (acked - last_acked) / (now - last_report)
            say(
                f"    {now:5.0f} s: {self.submitted:,} sent, {acked:,} acked ({rate:,.0f}/s, "
                f"p99 {p99:.1f} ms), bridge RSS {self.rss[-1][1] / MB:.1f} MB, lag {lag:,}"
            )
            last_report, last_acked = now, acked


def rss_slope_mb_per_min(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over the second half of the run."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    xs = [t for t, _rss in half]
    ys = [rss / MB for _t, rss in half]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return 60 * sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def bridge_counts(health_port: int) -> dict[str, int]:
    """Events the bridge had Kafka confirm, and frames it rejected, from its /metrics."""
    url = f"http://127.0.0.1:{health_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    counts = {"published": 0, "rejected": 0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "botcopier_bridge_events_published_total":
                counts["published"] += int(sample.value)
            elif sample.name == "botcopier_bridge_rejected_total":
                counts["rejected"] += int(sample.value)
    return counts


def drain(probe: LagProbe) -> tuple[int, float | None]:
    """Lag when the load ends, and seconds until it is zero (None: not within the timeout)."""
    started = time.monotonic()
    lag_end = lag = probe.lag()
    while lag > 0:
        if time.monotonic() - started > DRAIN_TIMEOUT_S:
            return lag_end, None
        time.sleep(0.5)
        lag = probe.lag()
    return lag_end, time.monotonic() - started


def start_agents(environ: dict[str, str], work: Path) -> ServiceProcess:
    web_port = free_port()
    worker = ServiceProcess(
        "agents",
        botcopier_command("agents", "--web-port", str(web_port)),
        environ,
        work / "agents.log",
    )
    worker.start(port=web_port, timeout_s=90)
    return worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", help="use this running broker instead of starting one")
    parser.add_argument("--eas", type=int, default=20, help="simulated EAs")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s of all EAs together")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the load")
    parser.add_argument("--progress-s", type=float, default=10.0, help="seconds between lines")
    parser.add_argument(
        "--no-agents", action="store_true", help="measure a plain reader's lag, no agents worker"
    )
    args = parser.parse_args()
    if args.eas < 1 or args.rate <= 0 or args.seconds <= 0:
        parser.error("--eas, --rate and --seconds must be positive")

    work = Path(tempfile.mkdtemp(prefix="botcopier-soak-"))
    (work / "state").mkdir()
    environ = bench_environ(work, args.bootstrap)
    settings = load_settings(environ=environ)
    owned = not args.bootstrap
    if owned:
        start_broker(settings, progress=lambda line: say(f"[broker] {line}"))
    services_env = {**environ, "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers()}
    trade_topic = settings.topic("trade-events")
    bridge = worker = reader = probe = None
    try:
        create_topics(settings)
        if args.no_agents:
            group = f"{settings.kafka.topic_prefix}soak-reader"
            say(f"1/3 reader in group {group}...")
            reader = Reader(settings, group, trade_topic)
        else:
            group = f"{settings.kafka.topic_prefix}agents"
            say(f"1/3 agents worker (log {work / 'agents.log'})...")
            worker = start_agents(services_env, work)
        wait_for_group(settings, group, trade_topic, 1, timeout_s=120)
        probe = LagProbe(settings, group, trade_topic)

        port, health_port = free_port(), free_port()
        bridge_env = {
            **services_env,
            "BOTCOPIER_BRIDGE__METRICS_PORT": str(health_port),
            **{f"BOTCOPIER_BRIDGE__TOKENS__soak-{n + 1}": TOKEN for n in range(args.eas)},
        }
        bridge = BridgeProcess(bridge_env, work / "bridge.log")
        bridge.start(port)
        idle_rss = psutil.Process(bridge.process.pid).memory_info().rss
        say(f"2/3 bridge pid {bridge.process.pid}, RSS {idle_rss / MB:.1f} MB idle")
        say(
            f"3/3 {args.eas} EAs, {args.rate:,.0f} events/s for {args.seconds:.0f} s "
            f"(half of them closes)..."
        )
        soak = Soak(args, port, bridge.process.pid, probe)
        elapsed = asyncio.run(soak.run(work / "spool"))
        counts = bridge_counts(health_port)
        lag_end, drained_s = drain(probe)
        if worker is not None and worker.process.poll() is not None:
            raise SystemExit(f"the agents worker exited:\n{worker.log_tail(30)}")
    finally:
        if probe is not None:
            probe.close()
        if bridge is not None:
            bridge.terminate()
        if worker is not None:
            worker.stop(timeout_s=15)
        if reader is not None:
            reader.close()
        if owned:
            stop(settings, progress=lambda line: say(f"[broker] {line}"))
    return report(args, soak, elapsed, counts, (lag_end, drained_s))


def report(
    args: argparse.Namespace,
    soak: Soak,
    elapsed: float,
    counts: dict[str, int],
    lag: tuple[int, float | None],
) -> int:
    events = len(soak.latencies_s)
    lag_end, drained_s = lag
    # Every submitted event acked once and published once (warm-up events included).
    expected = soak.submitted + WARM_UP_EVENTS * args.eas
    if events != soak.submitted or counts["published"] != expected or counts["rejected"]:
        say(
            f"    MISMATCH: {soak.submitted:,} sent, {events:,} acked, bridge published "
            f"{counts['published']:,} of {expected:,}, rejected {counts['rejected']:,}"
        )
    p50 = percentile(soak.latencies_s, 0.5) * 1000
    p99 = percentile(soak.latencies_s, 0.99) * 1000
    start_mb, end_mb = soak.rss[0][1] / MB, soak.rss[-1][1] / MB
    max_mb = max(rss for _t, rss in soak.rss) / MB
    slope = rss_slope_mb_per_min(soak.rss)
    drained = "never" if drained_s is None else f"{drained_s:.1f}"
    say(
        f"    {events:,} events acked in {elapsed:.1f} s ({events / elapsed:,.0f}/s); "
        f"ack p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    say(
        f"    bridge RSS {start_mb:.1f} MB at start, {end_mb:.1f} MB at end, max {max_mb:.1f} MB "
        f"(x{end_mb / start_mb:.3f}; second half {slope:+.2f} MB/min)"
    )
    say(f"    lag at the end {lag_end:,}, zero after {drained} s")
    say(
        f"RESULT eas={args.eas} rate={args.rate:.0f} seconds={args.seconds:.0f} events={events} "
        f"throughput={events / elapsed:.1f} ack_p50_ms={p50:.2f} ack_p99_ms={p99:.2f} "
        f"bridge_rss_start_mb={start_mb:.1f} bridge_rss_end_mb={end_mb:.1f} "
        f"bridge_rss_max_mb={max_mb:.1f} rss_ratio={end_mb / start_mb:.3f} "
        f"rss_slope_mb_per_min={slope:.2f} lag_end={lag_end} lag_drained_s={drained} "
        f"published={counts['published']} rejected={counts['rejected']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
