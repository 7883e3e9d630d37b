"""`botcopier replay DECISIONS.csv MODEL.json --weight W`: where a model now decides otherwise."""

from __future__ import annotations

import argparse
from pathlib import Path

from botcopier.config import Settings


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "replay",
        help="re-score an EA's decision log with a model; write the divergences",
        description="Decides every logged decision again with MODEL (on the features the EA "
        "logged) and writes the ones that differ as a file for `botcopier train "
        "--replay-file`. Unreadable log lines are listed with their line numbers (exit 1).",
    )
    parser.add_argument("decisions", type=Path, metavar="DECISIONS.csv")
    parser.add_argument("model", type=Path, metavar="MODEL.json")
    parser.add_argument("--weight", type=float, default=2.0, help="training weight (default 2)")
    parser.add_argument("--out", type=Path, help="default: DECISIONS.divergences.csv")
    parser.add_argument("--server-utc-offset", type=float, default=0.0, metavar="HOURS",
                        help="for times logged as MT4 server time (default 0)")  # fmt: skip
    parser.set_defaults(handler=_run)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.trainers.model_document import load_model
    from botcopier.trainers.replay import replay_decisions, write_divergences

    if args.weight <= 0:
        print("botcopier: error: --weight must be positive")
        return 2
    model = load_model(args.model)
    result = replay_decisions(args.decisions, model, server_utc_offset_hours=args.server_utc_offset)
    out = args.out or args.decisions.with_suffix(".divergences.csv")
    write_divergences(result, out, args.weight)
    share = len(result.divergences) / result.replayed if result.replayed else 0.0
    print(f"replayed {result.replayed} decisions with {model['name']} {model['version']}: "
          f"{len(result.divergences)} diverge ({share:.1%})")  # fmt: skip
    for (logged, now), count in sorted(result.pairs().items()):
        print(f"  logged {logged} -> now {now}: {count}")
    for problem in result.problems:
        print(f"unreadable: {problem}")
    print(f"wrote {out}; train with --replay-file {out} --replay-weight {args.weight:g}")
    return 1 if result.problems else 0
