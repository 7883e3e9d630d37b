"""`botcopier export`: the command line of `botcopier.streams.export`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from botcopier.config import Settings


def _cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from botcopier.streams.export import export_bundle, parse_time

    since_ms = parse_time(args.since)
    until_ms = parse_time(args.until) if args.until else round(time.time() * 1000)
    export_bundle(settings, since_ms, until_ms, args.out, lambda line: print(line, flush=True))
    return 0


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "export",
        help="archive trades, metrics and models of a time range as Parquet",
        description="Reads trade-events, bot-metrics, ea-metrics and models up to their end "
        "offsets and writes the records whose event time is in [--since, --until) into "
        "--out: trades.parquet, bot_metrics.parquet, ea_metrics.parquet, models.parquet and "
        "manifest.json (row counts, SHA-256 of each file, the range, topics and end offsets). "
        "Times: ISO 8601 (UTC unless a zone is given) or epoch milliseconds.",
    )
    parser.add_argument("--since", required=True, help="start of the range (included)")
    parser.add_argument("--until", help="end of the range (excluded; default: now)")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="bundle folder, new or empty (default <state_dir>/exports/export-<since>-<until>)",
    )
    parser.set_defaults(handler=_cmd_export)
