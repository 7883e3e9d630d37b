"""The command-line options of `botcopier train` and `evaluate`, apart from what runs them.

Building ``botcopier``'s parser must not import the trainers (numpy, pandas, LightGBM,
scikit-learn: seconds and ~200 MB in every service that merely parses its arguments), so
the options live here and the work in `train_command` and `train_extras`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("data (Kafka by default; files with --bars and --events)")
    source.add_argument("--account", type=int, help="the bot's MT4 account")
    source.add_argument("--magic", type=int, help="the bot's magic number")
    source.add_argument("--symbol", help="default: the symbol the bot traded most")
    source.add_argument("--timeframe", type=int, help="bar minutes (default: the most common)")
    source.add_argument("--bars", type=Path, help="MT4 bars CSV instead of Kafka")
    source.add_argument(
        "--events",
        type=Path,
        help="trade events: JSON lines, CSV, or any trades log `import` reads (trades_raw.csv)",
    )
    split = parser.add_argument_group("split (by time)")
    split.add_argument("--validation", type=float, default=0.15, help="share (default 0.15)")
    split.add_argument("--test", type=float, default=0.3, help="share scored only (default 0.3)")
    split.add_argument(
        "--train-until",
        metavar="TIME",
        help="train on the bars opening before TIME (MT4 or ISO time, or a date), instead of "
        "the shares; the last --validation share of them tunes the thresholds",
    )
    split.add_argument(
        "--test-from",
        metavar="TIME",
        help="score the bars opening at or after TIME (default: --train-until)",
    )
    fit = parser.add_argument_group("estimator")
    fit.add_argument(
        "--model",
        dest="family",
        choices=["linear", "lightgbm", "xgboost", "catboost", "auto"],
        help="xgboost and catboost when installed (else LightGBM, with a warning)",
    )
    fit.add_argument("--no-class-weight", action="store_true", help="do not weight rare actions up")
    fit.add_argument("--no-threshold-tuning", action="store_true", help="keep thresholds at 0.5")
    fit.add_argument("--rounds", type=int, default=300, help="most boosting rounds (default 300)")
    fit.add_argument("--seed", type=int, default=0)


def add_extra_arguments(parser: argparse.ArgumentParser) -> None:
    extras = parser.add_argument_group("machine, review weights, stops, risk")
    extras.add_argument(
        "--mode",
        choices=["auto", "lite", "standard", "heavy", "deep"],
        default="auto",
        help="hardware mode (default: measured with psutil)",
    )
    extras.add_argument("--uncertain-file", help="labelled uncertain decisions (CSV)")
    extras.add_argument("--uncertain-weight", type=float, default=2.0)
    extras.add_argument("--replay-file", help="decision-replay divergences (CSV)")
    extras.add_argument("--replay-weight", type=float, default=2.0)
    extras.add_argument(
        "--regress-sl-tp", action="store_true", help="learn the bot's stop and target distances"
    )
    extras.add_argument(
        "--risk-parity", action="store_true", help="weights across the symbols the EA sent"
    )
