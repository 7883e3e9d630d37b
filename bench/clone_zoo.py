"""Clone zoo benchmark: how well clones copy rule-based MT4 bots they were not built around.

One command: ``.venv/bin/python bench/clone_zoo.py`` (no broker needed; real history from the
``backtesting`` package, see ``bridge/simulator/history.py``). For every bot of the zoo
(``bridge/simulator/zoo``) on every dataset (``--datasets``, default EURUSD H1 and GOOG D1):

1. the bot trades the real bars; its trade events become the training table exactly as
   ``botcopier train --bars … --events …`` builds it (every candidate feature);
2. ``train_best`` with the user's default (``--model auto``: feature selection on the
   training rows, linear and LightGBM, the better validation entry macro-F1 kept) and the
   bot's SL/TP learned as the EA's stop regressors (``--regress-sl-tp``); train on the
   first 70% by time (15% of it validation), score on the last 30%;
3. **open loop**: the clone's decision on each test bar given what the bot held (entry
   macro-F1, bar agreement);
4. **closed loop**: the clone trading the test bars on its own with the EA's rules
   (``botcopier backtest``: its own position, stops and history feed its position
   features), each bar's decision against the bot's.

One line per bot, then ``RESULT entry_f1_min=… entry_f1_median=… agreement_min=…
closed_f1_min=… closed_gap_max=… bots_f1_ge_095=… bots=…`` over every (bot, dataset).
``--bots a,b`` and ``--datasets`` narrow the run; ``--model`` tries another family.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import say  # noqa: E402
from botcopier.bridge.simulator.history import DATASETS, SYMBOLS, bar_frame, dataset_bars  # noqa: E402
from botcopier.bridge.simulator.zoo import ZOO, run_zoo_bot  # noqa: E402
from botcopier.codegen.strategy import StrategyInputs  # noqa: E402
from botcopier.trainers.backtest import BacktestInputs, run_backtest  # noqa: E402
from botcopier.trainers.batch import TrainOptions  # noqa: E402
from botcopier.trainers.dataset import build_dataset, time_split  # noqa: E402
from botcopier.trainers.features import CANDIDATE_FEATURES  # noqa: E402
from botcopier.trainers.scores import clone_scores  # noqa: E402
from botcopier.trainers.sources import BotHistory  # noqa: E402
from botcopier.trainers.train_command import train_best  # noqa: E402
from botcopier.trainers.train_extras import stops_section  # noqa: E402


def clone_one(bot_name: str, dataset: str, family: str) -> dict[str, float | int | str] | None:
    """The scores of one bot's clone on one dataset; None when the bot never trades there
    (an intraday-only bot on daily bars)."""
    bars = dataset_bars(dataset)
    frame = bar_frame(bars)
    run = run_zoo_bot(bot_name, bars)
    if run.entries == 0:
        return None
    spec = SYMBOLS[bars[0].symbol]
    bot = {"account": 1, "magic": ZOO[bot_name].magic, "symbol": spec.symbol,
           "timeframe_minutes": bars[0].timeframe_minutes}  # fmt: skip
    history = BotHistory(bot, frame, run.events, None, None, "zoo")
    data = build_dataset(frame, run.events, CANDIDATE_FEATURES)
    options = TrainOptions(family=family)
    started = time.monotonic()
    result = train_best(
        data,
        bot,
        bot_name,
        options,
        lambda line: None,
        post_fit=stops_section(history, say=lambda line: None),
    )
    fit_s = time.monotonic() - started
    test = data.rows(time_split(len(data), options.validation, options.test).test)
    point = 10.0**-spec.digits
    pip = point * (10 if spec.digits in (3, 5) else 1)
    inputs = BacktestInputs(strategy=StrategyInputs(pip_size=pip), point=point)
    backtest = run_backtest([result.document], frame, inputs, start_ms=int(test.time_ms.iloc[0]))
    said_at = dict(backtest.decisions)
    truth = list(test.labels)
    said = [said_at.get(int(t), "none") for t in test.time_ms]
    closed = clone_scores(truth, said)
    return {
        "bot": bot_name,
        "dataset": dataset,
        "family": result.document["estimator"]["family"],
        "features": len(result.document["features"]),
        "entries": run.entries,
        "test_entries": sum(label in ("buy", "sell") for label in truth),
        "entry_f1": result.test["entry_macro_f1"],
        "agreement": result.test["bar_agreement"],
        "closed_f1": closed["entry_macro_f1"],
        "closed_agreement": closed["bar_agreement"],
        "fit_s": fit_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="EURUSD_H1,GOOG_D1",
                        help=f"comma-separated, of {sorted(DATASETS)}")  # fmt: skip
    parser.add_argument("--bots", default=",".join(ZOO), help="comma-separated zoo bot names")
    parser.add_argument("--model", default="auto", help="the family train_best is given")
    args = parser.parse_args(argv)
    rows = []
    header = ("bot", "dataset", "family", "feat", "entries", "test", "entry F1", "agree",
              "closed F1", "closed agr", "fit s")  # fmt: skip
    say(" ".join(f"{h:{w}}" for h, w in zip(header, (22, 10, 9, 4, 7, 5, 8, 7, 9, 10, 6))))
    for dataset in args.datasets.split(","):
        for name in args.bots.split(","):
            r = clone_one(name, dataset, args.model)
            if r is None:
                say(f"{name:22} {dataset:10} never trades here: not scored")
                continue
            rows.append(r)
            say(f"{r['bot']:22} {r['dataset']:10} {r['family']:9} {r['features']:>4} "
                f"{r['entries']:>7} {r['test_entries']:>5} {r['entry_f1']:>8.4f} "
                f"{r['agreement']:>7.4f} {r['closed_f1']:>9.4f} {r['closed_agreement']:>10.4f} "
                f"{r['fit_s']:>6.1f}")  # fmt: skip
    f1 = [float(r["entry_f1"]) for r in rows]
    gaps = [float(r["entry_f1"]) - float(r["closed_f1"]) for r in rows]
    say(
        f"RESULT entry_f1_min={min(f1):.4f} entry_f1_median={statistics.median(f1):.4f} "
        f"agreement_min={min(float(r['agreement']) for r in rows):.4f} "
        f"closed_f1_min={min(float(r['closed_f1']) for r in rows):.4f} "
        f"closed_gap_max={max(gaps):.4f} bots_f1_ge_095={sum(v >= 0.95 for v in f1)} "
        f"bots_f1_ge_090={sum(v >= 0.90 for v in f1)} bots={len(rows)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
