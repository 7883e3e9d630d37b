"""`botcopier filesync`: the command line of `filesync` (kept apart so `--help` stays fast)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from botcopier.config import Settings


def _cmd_filesync(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.run_record import start_service
    from botcopier.streams.filesync import run_filesync

    if not args.once:
        # `--once` is a cron job's command: it reports on stdout and stderr like the others.
        start_service(settings, "filesync")
    return run_filesync(
        settings,
        lambda line: print(line, flush=True),
        extra_dirs=args.files_dir,
        keep=args.keep,
        once=args.once,
        metrics_port=args.metrics_port,
    )


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "filesync",
        help="write published models into MT4 MQL4/Files folders",
        description="Follows the models topic and writes each model, checked and atomically, "
        "as <name>.model.json (what the EA reads) plus <name>-<version>.model.json copies "
        "into each folder. Stops cleanly on SIGTERM/SIGINT.",
    )
    parser.add_argument(
        "--files-dir",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="an MT4 MQL4/Files folder, besides filesync.files_dirs (repeatable)",
    )
    parser.add_argument(
        "--keep", type=int, metavar="N", help="versioned copies per model (default 5)"
    )
    parser.add_argument("--once", action="store_true", help="catch up, then exit")
    parser.add_argument(
        "--metrics-port", type=int, help="/healthz and /metrics (default 9110; 0: none)"
    )
    parser.set_defaults(handler=_cmd_filesync)
