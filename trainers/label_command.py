"""``botcopier label``: label the strategy EA's uncertain decisions for the next training.

Reads the EA's decision log (format: `botcopier.trainers.decision_log`), keeps the decisions
flagged uncertain, labels them (at the terminal, by ``--rule``, or ``--from-csv``) and writes
the labels file ``botcopier train --uncertain-file`` reads (`botcopier.trainers.labelling`).
Lines that cannot be read are listed with their line numbers and the exit status is 1.

Examples
--------
>>> import argparse
>>> commands = argparse.ArgumentParser(prog="botcopier").add_subparsers()
>>> add_command(commands)
>>> args = commands.choices["label"].parse_args(
...     ["log.csv", "--out", "labels.csv", "--rule", "rsi_14 < 30 -> buy"])
>>> args.rule, args.from_csv
(['rsi_14 < 30 -> buy'], None)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from botcopier.config import Settings


def add_command(commands: argparse._SubParsersAction) -> None:
    label = commands.add_parser(
        "label",
        help="label the strategy EA's uncertain decisions (terminal, rules or CSV)",
        description="Keeps the uncertain decisions of DECISIONS (the EA's decision log CSV) "
        "and labels them: at the terminal (keys b buy, s sell, c close, n none, k skip, q save "
        "and quit), by --rule 'CONDITION -> LABEL' (e.g. 'rsi_14 < 30 and position == 0 -> "
        "buy'; repeatable, the first that holds wins), or --from-csv FILE of time,label. "
        "Writes --out for `botcopier train --uncertain-file`, merging the labels it already "
        "holds. Unreadable lines are listed with line numbers (exit 1).",
    )
    label.add_argument("decisions", type=Path, metavar="DECISIONS.csv")
    label.add_argument("--out", type=Path, required=True, help="labels file (merged if present)")
    source = label.add_mutually_exclusive_group()
    source.add_argument("--rule", action="append", help="CONDITION -> LABEL (repeatable)")
    source.add_argument("--from-csv", type=Path, help="CSV with time and label columns")
    label.add_argument(
        "--features", help="comma-separated features to show at the terminal (default: first 8)"
    )
    label.add_argument(
        "--server-utc-offset",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="MT4 server time minus UTC, for yyyy.mm.dd hh:mi times (default 0)",
    )
    label.set_defaults(handler=run_label)


def run_label(
    settings: Settings,
    args: argparse.Namespace,
    say: Callable[[str], None] = print,
    ask: Callable[[str], str] = input,
) -> int:
    from botcopier.trainers import labelling
    from botcopier.trainers.decision_log import LabelError, read_decision_log
    from botcopier.trainers.label_rules import parse_rule

    log = read_decision_log(args.decisions, args.server_utc_offset)
    problems = list(log.problems)
    uncertain, first_at, repeats = [], {}, []
    for decision in log.decisions:
        if not decision.uncertain:
            continue
        key = (decision.time_ms, decision.symbol)
        if key in first_at:
            repeats.append(f"{decision.where}: the same decision as {first_at[key]}, used once")
            continue
        first_at[key] = decision.where
        uncertain.append(decision)
    existing = labelling.read_labels(args.out)
    unmatched: list[str] = []
    if args.rule:
        names = {*log.features, "probability", "threshold", "action", "symbol"}
        rules = [parse_rule(text, names) for text in args.rule]
        labels, rule_problems, unmatched = labelling.label_by_rules(uncertain, rules)
        problems += rule_problems
    elif args.from_csv:
        labels, csv_problems = labelling.label_from_csv(
            uncertain, args.from_csv, args.server_utc_offset
        )
        problems += csv_problems
    else:
        todo = [d for d in uncertain if (d.time_ms, d.symbol) not in existing]
        shown = [name.strip() for name in args.features.split(",")] if args.features else 8
        unknown = sorted(set(shown) - set(log.features)) if args.features else []
        if unknown:
            raise LabelError(f"--features: the log has no {', '.join(unknown)}")
        say(f"{len(todo)} uncertain decisions to label ({len(uncertain) - len(todo)} done)")
        labels, _ = labelling.label_interactively(todo, ask, say, shown)

    merged = {**existing, **{label.key: label for label in labels}}
    labelling.write_labels(args.out, merged.values())
    for line in repeats + [f"{where}: no rule matched" for where in unmatched] + problems:
        say(line)
    say(
        f"{len(log.decisions)} decisions read, {len(uncertain)} uncertain; {len(labels)} "
        f"labelled now, {len(merged)} in {args.out}; {len(unmatched)} matched no rule; "
        f"{len(problems)} problems"
    )
    return 1 if problems else 0
