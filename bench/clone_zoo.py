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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import say  # noqa: E402
from botcopier.bridge.simulator.history import DATASETS  # noqa: E402
from botcopier.bridge.simulator.zoo import ZOO  # noqa: E402
from tests.zoo_clone import clone_zoo_bot  # noqa: E402


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
            r = clone_zoo_bot(name, dataset, args.model)
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
