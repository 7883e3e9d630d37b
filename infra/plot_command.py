"""`botcopier plot metrics|importance`: PNG charts of bots' metrics and of a model.

Metrics come from the collector's SQLite history by default (``--source collector``): it is
what the collector kept, with no broker needed, and it holds the EAs' own snapshots beside
the agents' metrics. ``--source kafka`` reads the ``bot-metrics`` and ``ea-metrics`` topics
instead, for a machine that runs no collector (only what the topics' retention kept).

Examples
--------
>>> parse_bot("900001:1001")
(900001, 1001)
>>> parse_bot("900001")
Traceback (most recent call last):
...
botcopier.infra.exceptions.PlotError: --bot must be ACCOUNT:MAGIC (two integers), not '900001'
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any

from botcopier.config import Settings
from botcopier.infra.exceptions import PlotError

Bot = tuple[int, int]
# Collector table and topic of each source line of the chart.
SOURCES = {"agents": ("bot_metrics", "bot-metrics"), "ea": ("ea_metrics", "ea-metrics")}


def parse_bot(text: str) -> Bot:
    account, _, magic = text.partition(":")
    try:
        return int(account), int(magic)
    except ValueError:
        raise PlotError(f"--bot must be ACCOUNT:MAGIC (two integers), not {text!r}") from None


def _group(rows: list[dict[str, Any]], source: str, into: dict[Bot, dict[str, list]]) -> None:
    for row in rows:
        into[(int(row["account"]), int(row["magic"]))][source].append(row)


def metrics_from_collector(database: Path, bot: Bot | None) -> dict[Bot, dict[str, list]]:
    from botcopier.streams.metrics_store import MetricsStore

    # Opening a missing file would create an empty database and plot nothing.
    if not Path(database).is_file():
        raise PlotError(
            f"no collector database at {database} (run `botcopier collector`, pass "
            "--database, or --source kafka)"
        )
    store = MetricsStore(database)
    grouped: dict[Bot, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    try:
        for source, (table, _topic) in SOURCES.items():
            _group(store.history(table, *(bot or (None, None))), source, grouped)
    finally:
        store.close()
    return grouped


def metrics_from_kafka(settings: Settings, bot: Bot | None, say: Any) -> dict[Bot, dict[str, list]]:
    from botcopier.trainers.sources import read_to_end

    def keep(_key: bytes | None, record: dict[str, Any]) -> bool:
        return bot is None or (record["account"], record["magic"]) == bot

    grouped: dict[Bot, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for source, (_table, topic) in SOURCES.items():
        records, _ends = read_to_end(settings, topic, keep, say)
        # The link is at-least-once: one point per event id.
        unique = {record["event_id"]: record for record in records}
        _group(list(unique.values()), source, grouped)
    return grouped


def _cmd_plot(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.infra.plots import plot_bot_metrics, plot_importance

    def say(line: str) -> None:
        print(line, flush=True)

    if args.what == "importance":
        from botcopier.trainers.model_document import load_model

        if not args.target:
            raise PlotError("plot importance needs a MODEL.json")
        model = Path(args.target)
        doc = load_model(model)
        out = args.out or model.with_name(model.name.removesuffix(".json") + ".importance.png")
        say(f"wrote {plot_importance(doc, Path(out), top=args.top)}")
        return 0
    if args.target:
        raise PlotError("plot metrics takes no file (use --database for the collector's)")
    bot = parse_bot(args.bot) if args.bot else None
    if args.source == "kafka":
        grouped = metrics_from_kafka(settings, bot, say)
    else:
        grouped = metrics_from_collector(args.database or settings.collector_database(), bot)
    if not grouped:
        which = f"bot {bot[0]}:{bot[1]}" if bot else "any bot"
        raise PlotError(f"no metrics of {which} in the {args.source}'s history")
    out = Path(args.out or settings.paths.state_dir / "plots")
    for (account, magic), series in sorted(grouped.items()):
        path = plot_bot_metrics((account, magic), series, out / f"metrics-{account}-{magic}.png")
        counts = ", ".join(f"{len(rows)} {source}" for source, rows in sorted(series.items()))
        say(f"wrote {path} ({counts} records)")
    return 0


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "plot",
        help="PNG charts: bots' metrics over time, a model's feature importance",
        description="metrics: win rate, max drawdown and Sharpe of each bot (or --bot) over "
        "event time, one PNG per bot in --out (default <state_dir>/plots), from the "
        "collector's SQLite history (default) or the bot-metrics/ea-metrics topics. "
        "importance MODEL.json: the model's feature importance as bars (--out FILE, default "
        "beside the model).",
    )
    parser.add_argument("what", choices=["metrics", "importance"])
    parser.add_argument("target", nargs="?", metavar="MODEL.json", help="for importance")
    parser.add_argument("--bot", metavar="ACCOUNT:MAGIC", help="metrics: only this bot")
    parser.add_argument(
        "--source",
        choices=["collector", "kafka"],
        default="collector",
        help="metrics: the collector's SQLite database (default) or the Kafka topics",
    )
    parser.add_argument(
        "--database", type=Path, help="metrics: collector database (default: the collector's)"
    )
    parser.add_argument("--out", type=Path, help="metrics: a folder; importance: a PNG file")
    parser.add_argument(
        "--top", type=int, default=30, help="importance: features shown (default 30)"
    )
    parser.set_defaults(handler=_cmd_plot)
