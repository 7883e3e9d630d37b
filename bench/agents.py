"""Agents benchmark: closes/s one worker sustains, and close → bot-metric latency at 1,000/s.

One command: ``.venv/bin/python bench/agents.py`` (starts its own Apache Kafka on free
ports; ``--bootstrap host:port`` uses a running broker instead). `botcopier agents` runs as
its own process, drift detectors and retrain policy on; all figures come from one run:

1. throughput: N CLOSE TradeEvents of ``--bots`` bots (each bot's closes hours apart over
   the last weeks, so each keeps a realistic history in its window) are loaded onto
   ``trade-events`` first; then the worker starts and works through them. Closes/s from
   its first BotMetrics record to the N-th (the worker's start-up is reported apart).
2. latency: once the worker is idle again, the same bots close ``--rate`` trades/s for
   ``--seconds`` s, paced, through a producer with the bridge's settings; each close is
   stamped with the wall clock when it is produced (``event_time_ms`` = ``close_time_ms``).
   Per close, the time from that stamp to the arrival of its BotMetrics (matched by
   ``last_event_id``) at a reader of ``bot-metrics``. Every close must get its metric:
   missing ones are counted and reported.

Ends with ``RESULT worker_events_per_s=… close_to_metric_p50_ms=… close_to_metric_p99_ms=…``
and whether p99 is within the issue's target (100 ms at 1,000 closes/s).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition  # noqa: E402

from bench.common import bench_environ, percentile, say  # noqa: E402
from botcopier.bridge.publisher import BRIDGE_PRODUCER  # noqa: E402
from botcopier.config import Settings, load_settings  # noqa: E402
from botcopier.infra.broker import start_broker, stop  # noqa: E402
from botcopier.schemas.codec import ValueCodec  # noqa: E402
from botcopier.services import ServiceProcess, botcopier_command  # noqa: E402
from botcopier.streams.admin import create_topics  # noqa: E402
from botcopier.streams.clients import consumer_config, producer_config  # noqa: E402
from tests.helpers import free_port  # noqa: E402

TARGET_P99_MS = 100.0
HOUR_MS = 3_600_000
DRAIN_TIMEOUT_S = 300
SLICE_S = 5
IDLE_CPU_PERCENT = 10.0
ACCOUNTS = 10  # bots are ACCOUNTS accounts x (bots / ACCOUNTS) magics


class Bots:
    """The simulated bots: keys, each bot's win probability, and its last close time."""

    def __init__(self, count: int, seed: int) -> None:
        self.rng = random.Random(seed)
        per_account = -(-count // ACCOUNTS)
        self.ids = [(7001 + n // per_account, 1000 + n % per_account) for n in range(count)]
        self.win_p = [self.rng.uniform(0.35, 0.65) for _ in self.ids]
        self.last_close_ms = [0] * count

    def close(self, bot: int, event_id: str, close_ms: int, event_ms: int) -> dict:
        # Close times strictly increase per bot, as an EA reports them.
        close_ms = max(close_ms, self.last_close_ms[bot] + 1)
        self.last_close_ms[bot] = close_ms
        account, magic = self.ids[bot]
        win = self.rng.random() < self.win_p[bot]
        lots = self.rng.choice((0.01, 0.05, 0.1, 0.2))
        return {
            "event_id": event_id,
            "event_time_ms": event_ms,
            "account": account,
            "broker": "Bench Broker",
            "magic": magic,
            "ticket": 50_000_000 + self.rng.randrange(10_000_000),
            "symbol": "EURUSD",
            "action": "CLOSE",
            "order_type": self.rng.choice(("BUY", "SELL")),
            "lots": lots,
            "open_price": 1.1,
            "close_price": 1.1,
            "open_time_ms": close_ms - self.rng.randrange(60_000, 8 * HOUR_MS),
            "close_time_ms": close_ms,
            "profit": round(self.rng.uniform(5, 300 * lots) * (1 if win else -1), 2),
            "swap": round(-self.rng.uniform(0, 2 * lots), 2),
            "commission": -round(7 * lots, 2),
            "comment": "bench",
            "remaining_lots": 0.0,
        }

    def key(self, bot: int) -> bytes:
        account, magic = self.ids[bot]
        return f"{account}:{magic}".encode()


class MetricReader:
    """Reads ``bot-metrics`` in a thread, stamping each record with its arrival time.

    Partitions are assigned directly (no group join to wait for); records are decoded after
    the run, so the thread does nothing but poll and stamp.
    """

    def __init__(self, settings: Settings, worker: ServiceProcess) -> None:
        self.worker = worker
        self.topic = settings.topic("bot-metrics")
        self.consumer = Consumer(consumer_config(settings, f"bench-reader-{uuid.uuid4().hex}"))
        partitions = self.consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        self.arrivals: list[tuple[float, bytes]] = []
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            # poll, not consume(n): consume waits for n records or the whole timeout.
            msg = self.consumer.poll(0.05)
            if msg is not None and not msg.error():
                self.arrivals.append((time.time(), msg.value()))

    def __len__(self) -> int:
        return len(self.arrivals)

    def wait_for(self, count: int, timeout_s: float, label: str) -> bool:
        """Wait until ``count`` records arrived; progress every few seconds; False on timeout."""
        started = last_report = time.monotonic()
        while len(self) < count:
            process = self.worker.process
            if process is not None and process.poll() is not None:
                raise SystemExit(f"the agents worker exited:\n{self.worker.log_tail(30)}")
            now = time.monotonic()
            if now - started > timeout_s:
                return False
            if now - last_report >= 5:
                say(f"    {label}: {len(self):,}/{count:,} metrics after {now - started:.0f} s")
                last_report = now
            time.sleep(0.02)
        return True

    def close(self) -> None:
        self._running = False
        self._thread.join(5)
        self.consumer.close()


def settle(worker: ServiceProcess, timeout_s: float = 120.0) -> None:
    """Wait until the worker is idle: its table writes from the throughput run drained.

    Its last metric goes out before the changelog records of its state; measuring while
    those still flow would charge the throughput run's tail to the latency run.
    """
    process = psutil.Process(worker.process.pid)
    started = time.monotonic()
    while (busy := process.cpu_percent(interval=1.0)) > IDLE_CPU_PERCENT:
        if time.monotonic() - started > timeout_s:
            say(f"    worker still at {busy:.0f}% CPU after {timeout_s:.0f} s; measuring anyway")
            return
        say(f"    worker settling: {busy:.0f}% CPU")


def load_history(settings: Settings, bots: Bots, count: int) -> None:
    """``count`` closes, round-robin over the bots, ending an hour ago."""
    codec = ValueCodec.from_settings(settings)
    topic = settings.topic("trade-events")
    producer = Producer(producer_config(settings, **BRIDGE_PRODUCER))
    per_bot = -(-count // len(bots.ids))
    step_ms = 3 * HOUR_MS
    first_ms = int(time.time() * 1000) - HOUR_MS - per_bot * step_ms
    for n in range(count):
        bot = n % len(bots.ids)
        close_ms = first_ms + (n // len(bots.ids)) * step_ms + bots.rng.randrange(step_ms // 2)
        record = bots.close(bot, f"thr-{n}", close_ms, close_ms)
        value = codec.encode("TradeEvent", record, topic=topic)
        while True:
            try:
                producer.produce(topic, key=bots.key(bot), value=value)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
        if (n + 1) % 5000 == 0:
            say(f"    loaded {n + 1:,}/{count:,}")
    if producer.flush(60) != 0:
        raise SystemExit("history: not every close was delivered")


def paced_closes(
    settings: Settings, bots: Bots, reader: MetricReader, rate_per_s: float, seconds: float
) -> dict[str, int]:
    """Closes at a fixed rate, stamped with the wall clock; returns event id -> stamp (ms)."""
    codec = ValueCodec.from_settings(settings)
    topic = settings.topic("trade-events")
    producer = Producer(producer_config(settings, **BRIDGE_PRODUCER))
    # The first produce waits for metadata and the producer id, so one warm-up close goes
    # before the clock starts; its metric also shows the worker has caught up.
    now_ms = int(time.time() * 1000)
    warm_up = codec.encode("TradeEvent", bots.close(0, "warm-up", now_ms, now_ms), topic)
    producer.produce(topic, key=bots.key(0), value=warm_up)
    producer.flush(30)
    if not reader.wait_for(len(reader) + 1, 60, "warm-up"):
        raise SystemExit("the worker published no metric for the warm-up close")
    total = int(rate_per_s * seconds)
    sent: dict[str, int] = {}
    start = last_report = time.perf_counter()
    for n in range(total):
        delay = start + n / rate_per_s - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        now_ms = int(time.time() * 1000)
        bot = n % len(bots.ids)
        record = bots.close(bot, f"lat-{n}", now_ms, now_ms)
        producer.produce(topic, key=bots.key(bot), value=codec.encode("TradeEvent", record, topic))
        producer.poll(0)
        sent[record["event_id"]] = now_ms
        if time.perf_counter() - last_report >= 5:
            last_report = time.perf_counter()
            say(f"    {last_report - start:.0f} s: {n + 1:,}/{total:,} closes sent")
    if producer.flush(60) != 0:
        raise SystemExit("latency run: not every close was delivered")
    elapsed = time.perf_counter() - start
    say(f"    sent {total:,} closes in {elapsed:.1f} s ({total / elapsed:,.0f}/s)")
    return sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", help="use this running broker instead of starting one")
    parser.add_argument("--events", type=int, default=20_000, help="closes in the throughput run")
    parser.add_argument("--bots", type=int, default=100, help="bots the closes are spread over")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered load, closes/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency run length")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="botcopier-bench-"))
    (work / "state").mkdir()  # the worker's data dir goes in it, also with --bootstrap
    environ = bench_environ(work, args.bootstrap)
    settings = load_settings(environ=environ)
    owned = not args.bootstrap
    if owned:
        start_broker(settings, progress=lambda line: say(f"[broker] {line}"))
    bots = Bots(args.bots, args.seed)
    worker = reader = None
    try:
        create_topics(settings)
        say(f"1/2 throughput: loading {args.events:,} closes of {args.bots} bots...")
        load_history(settings, bots, args.events)
        worker_env = {
            **environ,
            "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
        }
        worker = ServiceProcess(
            "agents",
            botcopier_command("agents", "--web-port", str(free_port())),
            worker_env,
            work / "agents.log",
        )
        reader = MetricReader(settings, worker)
        say(f"    starting the agents worker (log {worker.log_path})...")
        started = time.time()
        worker.start()
        if not reader.wait_for(args.events, 600, "worker"):
            raise SystemExit(f"worker fell short: {len(reader):,} metrics\n{worker.log_tail(30)}")
        first_s, last_s = reader.arrivals[0][0], reader.arrivals[args.events - 1][0]
        throughput = (args.events - 1) / (last_s - first_s)
        startup_s = first_s - started
        say(
            f"    first metric {startup_s:.1f} s after start; {throughput:,.0f} closes/s after that"
        )

        settle(worker)
        say(f"2/2 close → metric latency at {args.rate:,.0f} closes/s for {args.seconds:.0f} s...")
        sent = paced_closes(settings, bots, reader, args.rate, args.seconds)
        expected = args.events + 1 + len(sent)
        if not reader.wait_for(expected, DRAIN_TIMEOUT_S, "draining"):
            say(f"    metrics still missing after {DRAIN_TIMEOUT_S} s: counted below")
    finally:
        if worker is not None:
            worker.stop(timeout_s=15)
        if reader is not None:
            reader.close()
        if owned:
            stop(settings, progress=lambda line: say(f"[broker] {line}"))

    return report(settings, reader.arrivals, sent, throughput, args)


def report(
    settings: Settings,
    arrivals: list[tuple[float, bytes]],
    sent: dict[str, int],
    throughput: float,
    args: argparse.Namespace,
) -> int:
    samples, missing = close_to_metric(settings, arrivals, sent)
    if len(samples) < 2:
        raise SystemExit(f"{len(samples)} of {len(sent):,} closes got a metric")
    latencies_ms = [total for _stamp, total, _worker in samples]
    worker_ms = [worker for _stamp, _total, worker in samples]
    p50, p99 = percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99)
    say(
        f"    {len(samples):,}/{len(sent):,} metrics: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies_ms):.1f} ms (of which close → worker publish: "
        f"p50 {percentile(worker_ms, 0.5):.1f} ms, p99 {percentile(worker_ms, 0.99):.1f} ms)"
    )
    # A worker that keeps up shows a flat line; one that falls behind, a growing one.
    first_ms = min(stamp for stamp, _total, _worker in samples)
    slices: dict[int, list[float]] = {}
    for stamp, total, _worker in samples:
        slices.setdefault(int((stamp - first_ms) // (SLICE_S * 1000)), []).append(total)
    medians = ", ".join(f"{statistics.median(slices[k]):.0f}" for k in sorted(slices))
    say(f"    p50 per {SLICE_S} s of sending, ms: {medians}")
    if missing:
        say(f"    MISSING: {missing:,} closes got no metric")
    within = p99 < TARGET_P99_MS and not missing
    say(
        f"RESULT worker_events_per_s={throughput:.0f} bots={args.bots} "
        f"close_to_metric_p50_ms={p50:.1f} close_to_metric_p99_ms={p99:.1f} "
        f"close_to_metric_max_ms={max(latencies_ms):.1f} offered_rate={args.rate:.0f} "
        f"metrics={len(samples)} closes={len(sent)} target_p99_ms={TARGET_P99_MS:.0f} "
        f"p99_within_target={str(within).lower()}"
    )
    return 0


def close_to_metric(
    settings: Settings, arrivals: list[tuple[float, bytes]], sent: dict[str, int]
) -> tuple[list[tuple[int, float, float]], int]:
    """Per paced close that got its metric: (stamp ms, stamp → arrival ms, stamp → the
    worker's publish ms, from BotMetrics.event_time_ms); and how many got none."""
    codec = ValueCodec.from_settings(settings)
    topic = settings.topic("bot-metrics")
    samples = []
    seen = set()
    for arrival_s, value in arrivals:
        metric = codec.decode(value, topic=topic).record
        stamp_ms = sent.get(metric["last_event_id"])
        if stamp_ms is None or metric["last_event_id"] in seen:
            continue
        seen.add(metric["last_event_id"])
        samples.append((stamp_ms, arrival_s * 1000 - stamp_ms, metric["event_time_ms"] - stamp_ms))
    return samples, len(sent) - len(seen)


if __name__ == "__main__":
    sys.exit(main())
