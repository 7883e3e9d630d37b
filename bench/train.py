"""Training benchmark: batch fits on 1M bars, River events/s, lite mode's peak memory.

One command: ``.venv/bin/python bench/train.py`` (no broker needed). Three measurements:

1. batch: ``--batch-bars`` (1,000,000) H1 bars of the simulator's seeded random walk, traded
   by its moving-average cross bot (magic 1001); the seconds to build the training table
   (features and labels, `build_dataset`) plus the seconds to fit, tune and score a clone
   (`train_clone`), for the linear family and for LightGBM. The table is built once and
   its time counted in both.
2. River: the online clone (`OnlineClone`, River's softmax regression, prequential) fed the
   first ``--river-bars`` (20,000) bars and the bot's events over them in event-time order
   (as `botcopier online` merges them); bar and trade records per second.
3. lite mode's peak resident memory: ``botcopier train --lite-mode`` run as a fresh process
   (its peak RSS from ``wait4``) on a generated history of ``--lite-small`` (100,000) and
   ``--lite-large`` (10,000,000: 19 years of M1) bars: an MT4-style bars CSV and a JSON-lines
   events file written chunk by chunk (bounded memory), the bars an M1 NumPy random walk of
   the simulator's model, the events those of a vectorised moving-average (5/20) cross bot
   that reverses at each cross (no stops: at 10M bars the simulator's own bot would take
   minutes). A fresh process that only imports the trainer is measured too: the floor.

Ends with ``RESULT batch_1m_linear_s=… batch_1m_lightgbm_s=… river_events_per_s=…
lite_rss_100k_mb=… lite_rss_10m_mb=… lite_rss_ratio=…`` (and the sizes actually used).
Lite mode's memory is flat within a run; it reaches its plateau (transient allocations of
the SGD batches) once a run fits more than one batch, so the 1M point is measured too:
10M over 1M is the growth with rows, 10M over 100k includes reaching the plateau.
``--skip-batch`` measures lite mode only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.common import say  # noqa: E402
from botcopier.bridge.simulator import MovingAverageCrossBot, random_walk_bars  # noqa: E402
from botcopier.trainers.batch import TrainOptions, train_clone  # noqa: E402
from botcopier.trainers.dataset import build_dataset  # noqa: E402

START_MS = 1_104_537_600_000  # 2005-01-01
MINUTE_MS = 60_000
CHART = {"symbol": "EURUSD", "timeframe_minutes": 60, "account": 7, "magic": 1001}


def simulated_history(count: int, seed: int = 5) -> tuple[pd.DataFrame, list[dict]]:
    """The simulator's random walk and its moving-average cross bot's events over it."""
    bars = list(random_walk_bars("EURUSD", start_ms=START_MS, count=count, seed=seed))
    bot = MovingAverageCrossBot("EURUSD")
    events = [
        {**action, "event_time_ms": action["close_time_ms"] or bar.end_ms}
        for bar in bars
        for action in bot.on_bar(bar)
    ]
    return pd.DataFrame(map(dataclasses.asdict, bars)), events


def bench_batch(bars: pd.DataFrame, events: list[dict]) -> dict[str, float]:
    started = time.monotonic()
    data = build_dataset(bars, events)
    table_s = time.monotonic() - started
    say(f"batch: features and labels of {len(bars):,} bars: {table_s:.1f} s ({len(data):,} rows)")
    out = {}
    for family in ("linear", "lightgbm"):
        started = time.monotonic()
        phases: list[tuple[float, str]] = []

        def phase(line: str, phases=phases) -> None:
            phases.append((time.monotonic(), line.split(" on ")[0].split(" ")[0]))

        options = TrainOptions(family=family)
        result = train_clone(data, CHART, f"bench-{family}", options, progress=phase)
        fit_s = time.monotonic() - started
        ends = [t for t, _ in phases[1:]] + [started + fit_s]
        say(
            f"  {family}: "
            + ", ".join(
                f"{name} {end - t:.1f} s" for (t, name), end in zip(phases, ends, strict=True)
            )
        )
        out[family] = table_s + fit_s
        say(
            f"batch {family}: fit, tune and score {fit_s:.1f} s; with the table {out[family]:.1f} s"
            f" (test entry macro-F1 {result.test['entry_macro_f1']:.4f})"
        )
    return out


def bench_river(bars: pd.DataFrame, events: list[dict]) -> float:
    from botcopier.trainers.online import OnlineClone

    last_ms = int(bars["time_ms"].iloc[-1])
    stream = [(b["time_ms"], 1, "bar", b) for b in bars.to_dict("records")]
    stream += [(e["event_time_ms"], 0, "event", e) for e in events if e["event_time_ms"] < last_ms]
    stream.sort(key=lambda item: item[:2])  # a bar's time is its open; an event first on ties
    clone, steps = OnlineClone("EURUSD", 60), 0
    started = time.monotonic()
    for _, _, kind, record in stream:
        steps += len(clone.observe_bar(record) if kind == "bar" else clone.observe_event(record))
    seconds = time.monotonic() - started
    rate = len(stream) / seconds
    say(
        f"river: OnlineClone (River SoftmaxRegression) took {len(stream):,} records "
        f"({len(bars):,} bars, {len(stream) - len(bars):,} events), learned {steps:,} bars in "
        f"{seconds:.1f} s: {rate:,.0f} records/s, {steps / seconds:,.0f} bars learned/s"
    )
    return rate


class CrossBot:
    """A moving-average (5/20) cross bot that reverses at each cross, vectorised per chunk."""

    def __init__(self, fast: int = 5, slow: int = 20) -> None:
        self.fast, self.slow = fast, slow
        self.closes = np.empty(0)
        self.side, self.ticket, self.count = 0, 0, 0

    def events(self, bars: pd.DataFrame) -> list[dict]:
        closes = np.concatenate([self.closes, bars["close"].to_numpy()])
        offset = len(self.closes)
        fast = pd.Series(closes).rolling(self.fast).mean().to_numpy()
        slow = pd.Series(closes).rolling(self.slow).mean().to_numpy()
        spread = fast - slow
        before, now = spread[offset - 1 : -1] if offset else np.r_[np.nan, spread[:-1]], spread
        now = now[offset:]
        side = np.where((before <= 0) & (now > 0), 1, np.where((before >= 0) & (now < 0), -1, 0))
        self.closes = closes[-self.slow :]
        out = []
        ends = bars["time_ms"].to_numpy() + MINUTE_MS
        for i in np.flatnonzero(side):
            if side[i] == self.side:
                continue
            price, end_ms = float(bars["close"].iloc[i]), int(ends[i])
            if self.side:
                out.append(self._event("CLOSE", self.side, end_ms, close_price=price))
            self.side, self.ticket = int(side[i]), self.ticket + 1
            out.append(self._event("OPEN", self.side, end_ms, open_price=price))
        return out

    def _event(self, action: str, side: int, time_ms: int, **prices: float) -> dict:
        self.count += 1
        return {
            "event_id": f"x{self.count}",
            "event_time_ms": time_ms,
            "action": action,
            "order_type": "BUY" if side == 1 else "SELL",
            "ticket": self.ticket,
            "lots": 0.1,
            "remaining_lots": 0.0,
            "sl": 0.0,
            "tp": 0.0,
            "symbol": "EURUSD",
            "magic": 1001,
            "account": 7,
            **prices,
        }


def walk_chunks(count: int, chunk: int, seed: int = 3, volatility: float = 0.0002):
    """M1 bars of the simulator's random-walk model (log-normal steps, wicks beyond the
    body, spreads of 8..18 points), generated ``chunk`` at a time with NumPy."""
    rng = np.random.default_rng(seed)
    price = 1.1
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        closes = np.round(price * np.exp(np.cumsum(rng.normal(0.0, volatility, n))), 5)
        opens = np.round(np.r_[price, closes[:-1]], 5)
        wick = np.abs(rng.normal(0.0, volatility / 2, (2, n)))
        yield pd.DataFrame({
            "time_ms": START_MS + (start + np.arange(n)) * MINUTE_MS,
            "open": opens,
            "high": np.round(np.maximum(opens, closes) * np.exp(wick[0]), 5),
            "low": np.round(np.minimum(opens, closes) * np.exp(-wick[1]), 5),
            "close": closes,
            "tick_volume": rng.integers(200, 2_001, n),
            "spread": rng.integers(8, 19, n),
        })  # fmt: skip
        price = float(closes[-1])


def write_history(folder: Path, count: int, chunk: int = 200_000) -> tuple[Path, Path, int]:
    """An MT4-style ``<DATE>,<TIME>,...`` bars CSV and the cross bot's events, as JSON lines."""
    folder.mkdir(parents=True, exist_ok=True)
    bars_path, events_path = folder / "bars.csv", folder / "events.jsonl"
    bot, written, started = CrossBot(), 0, time.monotonic()
    with bars_path.open("w") as bars_out, events_path.open("w") as events_out:
        bars_out.write("<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<TICKVOL>,<SPREAD>\n")
        for bars in walk_chunks(count, chunk):
            stamps = pd.to_datetime(bars["time_ms"], unit="ms")
            table = bars.drop(columns="time_ms")
            table.insert(0, "time", stamps.dt.strftime("%H:%M"))
            table.insert(0, "date", stamps.dt.strftime("%Y.%m.%d"))
            table.to_csv(bars_out, header=False, index=False)
            events_out.writelines(json.dumps(e) + "\n" for e in bot.events(bars))
            written += len(bars)
            if written % 2_000_000 < chunk or written == count:
                seconds = time.monotonic() - started
                say(f"  generated {written:,} of {count:,} bars ({seconds:.0f} s)")
    return bars_path, events_path, bot.count


# The child reports its own peak: its VmHWM after exec is its own, whereas wait4's and
# getrusage's ru_maxrss of a child include the parent's RSS at fork (Linux copies it).
_PEAK = "print('PEAK_RSS_KB', open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
RUN_CLI = (
    f"import sys; from botcopier.cli import main; c = main(sys.argv[1:]); {_PEAK}; sys.exit(c)"
)
IMPORT_ONLY = f"import botcopier.cli, botcopier.trainers.lite; {_PEAK}"


def peak_rss_mb(argv: list[str], label: str) -> tuple[float, float]:
    """Peak RSS (MB) and seconds of a fresh Python process; its output is shown as it comes."""
    started, peak_kb = time.monotonic(), None
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
        for line in run.stdout or ():
            if line.startswith("PEAK_RSS_KB "):
                peak_kb = int(line.split()[1])
            else:
                say(f"  [{label}] {line.rstrip()}")
    if run.returncode or peak_kb is None:
        raise SystemExit(f"{label} failed (exit code {run.returncode})")
    return peak_kb / 1024, time.monotonic() - started


def bench_lite(work: Path, count: int, batch_rows: int) -> float:
    bars_path, events_path, events = write_history(work / f"lite-{count}", count)
    size_mb = (bars_path.stat().st_size + events_path.stat().st_size) / 2**20
    say(f"lite: {count:,} bars and {events:,} events generated ({size_mb:,.0f} MB of files)")
    train = ["train", "--lite-mode", "--batch-rows", str(batch_rows), "--bars", str(bars_path),
             "--events", str(events_path), "--magic", "1001", "--out", str(work / "models"),
             "--name", f"lite-{count}"]  # fmt: skip
    rss_mb, seconds = peak_rss_mb([sys.executable, "-c", RUN_CLI, *train], f"lite {count:,}")
    say(f"lite: {count:,} bars trained in {seconds:.0f} s, peak RSS {rss_mb:.0f} MB")
    shutil.rmtree(work / f"lite-{count}")
    return rss_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-bars", type=int, default=1_000_000)
    parser.add_argument("--river-bars", type=int, default=20_000)
    parser.add_argument("--lite-small", type=int, default=100_000)
    parser.add_argument("--lite-mid", type=int, default=1_000_000, help="where the plateau shows")
    parser.add_argument("--lite-large", type=int, default=10_000_000)
    parser.add_argument("--batch-rows", type=int, default=50_000, help="lite mode's --batch-rows")
    parser.add_argument("--skip-batch", action="store_true", help="lite mode's memory only")
    parser.add_argument("--work", type=Path, help="folder for the generated files (default: tmp)")
    args = parser.parse_args()
    fields: dict[str, object] = {}
    if not args.skip_batch:
        say(f"simulating {args.batch_bars:,} H1 bars and the MA-cross bot on them")
        started = time.monotonic()
        bars, events = simulated_history(max(args.batch_bars, args.river_bars))
        say(f"  {len(bars):,} bars, {len(events):,} events in {time.monotonic() - started:.0f} s")
        batch = bench_batch(bars.iloc[: args.batch_bars], events)
        river = bench_river(bars.iloc[: args.river_bars].reset_index(drop=True), events)
        del bars, events
        fields |= {
            "batch_1m_linear_s": f"{batch['linear']:.1f}",
            "batch_1m_lightgbm_s": f"{batch['lightgbm']:.1f}",
            "river_events_per_s": f"{river:.0f}",
            "river_learner": "OnlineClone",
        }
    work = Path(tempfile.mkdtemp(prefix="bench-train-", dir=args.work))
    try:
        floor_mb, _ = peak_rss_mb([sys.executable, "-c", IMPORT_ONLY], "import")
        say(f"lite: a process that only imports the trainer peaks at {floor_mb:.0f} MB")
        small, mid, large = (
            bench_lite(work, n, args.batch_rows)
            for n in (args.lite_small, args.lite_mid, args.lite_large)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fields |= {
        "lite_rss_100k_mb": f"{small:.0f}",
        "lite_rss_1m_mb": f"{mid:.0f}",
        "lite_rss_10m_mb": f"{large:.0f}",
        "lite_rss_ratio": f"{large / small:.2f}",
        "lite_rss_ratio_10m_1m": f"{large / mid:.2f}",
        "import_rss_mb": f"{floor_mb:.0f}",
        "batch_bars": "-" if args.skip_batch else args.batch_bars,
        "lite_bars": f"{args.lite_small},{args.lite_mid},{args.lite_large}",
    }
    say("RESULT " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
