"""The `botcopier` command line.

Run ``botcopier --help`` for the subcommands and ``botcopier COMMAND --help`` for each.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from botcopier import __version__
from botcopier.config import Settings, load_settings
from botcopier.exceptions import BotCopierError

EPILOG = """\
first steps:
  botcopier demo                 start Kafka, create topics, round-trip an event
  botcopier broker status        which broker runs, and where
  botcopier broker stop          stop it (no JVM left behind)

configuration: botcopier.toml (or --config FILE / $BOTCOPIER_CONFIG), overridden by
BOTCOPIER_<SECTION>__<FIELD> variables, e.g. BOTCOPIER_BROKER__PORT=19092.
`botcopier config show` prints the result.
"""


# Modules that add their own subcommand: each has ``add_command(commands)``, which adds a
# parser whose ``handler(settings, args) -> int`` runs it (imports inside the handler, so
# ``botcopier --help`` stays fast).
COMMAND_MODULES: tuple[str, ...] = (
    "botcopier.codegen.generate_command",
    "botcopier.codegen.compile_command",
    "botcopier.streams.registry_command",
    "botcopier.streams.filesync_command",
    "botcopier.trainers.backtest_command",
    "botcopier.trainers.replay_command",
    "botcopier.bridge.router_command",
    "botcopier.trainers.label_command",
    "botcopier.streams.dashboard_command",
    "botcopier.infra.plot_command",
    "botcopier.streams.export_command",
)


def _say(line: str) -> None:
    print(line, flush=True)


def _cmd_broker(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.infra import broker

    if args.action == "start":
        broker.start_broker(settings, progress=_say, kind=args.kind)
        return 0
    if args.action == "fetch":
        from botcopier.infra.broker.kafka import KAFKA_VERSION
        from botcopier.infra.broker.maven import ensure_kafka_jars

        jars = ensure_kafka_jars(settings.paths.cache_dir, KAFKA_VERSION, _say)
        _say(f"Apache Kafka {KAFKA_VERSION} jars ready in {jars}")
        return 0
    if args.action == "stop":
        broker.stop(settings, progress=_say)
        return 0
    current = broker.status(settings)
    _say(current.describe())
    # Like `systemctl status`: 0 running, 3 not running.
    return 0 if current.running else 3


def _cmd_topics(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.streams.topics import TOPICS

    if args.action == "create":
        from botcopier.streams.admin import create_topics

        statuses = create_topics(settings, progress=_say)
        created = sum(s.created for s in statuses)
        _say(f"{created} created, {len(statuses) - created} already existed")
        return 0
    for spec in TOPICS:
        config = ", ".join(f"{k}={v}" for k, v in spec.config.items())
        _say(
            f"{spec.full_name(settings.kafka.topic_prefix):32} key={spec.key:14} "
            f"values={'/'.join(spec.value_schemas):16} partitions={spec.partitions} {config}"
        )
    return 0


def _cmd_schemas(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.schemas import SchemaCatalogue

    catalogue = SchemaCatalogue.default()
    for schema in catalogue.versions():
        current = catalogue.current(schema.name).fingerprint == schema.fingerprint
        _say(
            f"{schema.name:16} v{schema.version}  fingerprint {schema.fingerprint.hex()}"
            f"{'  (current)' if current else ''}"
        )
    return 0


def _cmd_config(settings: Settings, args: argparse.Namespace) -> int:
    _say(json.dumps(settings.redacted(), indent=2))
    return 0


def _cmd_bridge(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.bridge.runner import run_bridge

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        bridge = settings.bridge.model_copy(update=overrides)
        settings = settings.model_copy(update={"bridge": bridge})
    return run_bridge(settings, reload_tokens=lambda: load_settings(args.config).bridge.tokens)


def _cmd_tail(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.streams.tail import tail

    tail(
        settings,
        args.topic,
        emit=_say,
        from_beginning=not args.latest,
        max_messages=args.max,
        idle_timeout_s=args.idle_timeout,
    )
    return 0


def _cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from botcopier.bridge.simulator.run import SimulationPlan, simulate

    plan = SimulationPlan(
        eas=args.eas,
        bars=args.bars,
        seed=args.seed,
        csv=args.csv,
        bars_per_second=args.bars_per_second,
        fading_bot=args.fading_bot,
    )
    spool_dir = args.spool_dir or settings.paths.state_dir / "simulator-spool"
    _say(
        f"simulating {plan.eas} EA(s) x {plan.bars} bars -> bridge "
        f"{settings.bridge.host}:{settings.bridge.port} (spool: {spool_dir})"
    )
    result = asyncio.run(simulate(settings, plan, spool_dir, progress=_say))
    for report in result.reports:
        _say(
            f"{report.ea_id}: {report.bars} bars, {report.trades} trade events, "
            f"{report.metrics} metric snapshots, {report.submitted} events sent, "
            f"acked up to seq {result.acked[report.ea_id]}, "
            f"{result.unacked[report.ea_id]} unacked (kept in the spool)"
        )
    _say(f"done in {result.seconds:.1f} s")
    return 0 if result.complete else 1


def _cmd_ticks(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.trainers.history_stats import analyze, as_dicts, describe

    stats = analyze(args.file, symbol=args.symbol)
    if args.json:
        _say(json.dumps(as_dicts(stats), indent=2))
    else:
        for line in describe(stats):
            _say(line)
    return 0


def _cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.trainers.importer import ImportOptions, run_import

    options = ImportOptions(
        account=args.account,
        magic=args.magic,
        symbol=args.symbol,
        timeframe_minutes=args.timeframe,
        ea_id=args.ea_id,
        server_utc_offset_hours=args.server_utc_offset,
    )
    return run_import(settings, args.files, args.kind, options, strict=args.strict, say=_say)


def _cmd_mql4_check(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.codegen.checks import check_frames, lint_sources, load_sources

    sources = load_sources(args.dir)
    if not sources:
        raise BotCopierError(f"no .mq4 or .mqh files under {args.dir}")
    findings = lint_sources(sources) + check_frames(sources)
    for finding in findings:
        _say(str(finding))
    _say(f"{len(sources)} files checked, {len(findings)} findings")
    return 1 if findings else 0


def _cmd_agents(settings: Settings, args: argparse.Namespace) -> int:
    # Faust owns the process (signals, logging, its CLI): hand it over.
    os.execvp(  # noqa: S606 - replaces this process with the Faust worker
        sys.executable,
        [
            sys.executable,
            "-m",
            "faust",
            "-A",
            "botcopier.streams.agents_worker",
            "worker",
            "-l",
            args.log_level,
            "--web-port",
            str(args.web_port or settings.agents.web_port),
        ],
    )
    return 0  # not reached


def _cmd_collector(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.streams.collector_service import run_collector

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if args.database is not None:
        overrides["database"] = args.database
    if overrides:
        collector = settings.collector.model_copy(update=overrides)
        settings = settings.model_copy(update={"collector": collector})
    return run_collector(settings)


def _cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.trainers.train_command import run_train

    return run_train(settings, args, _say)


def _cmd_evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.trainers.train_command import run_evaluate

    return run_evaluate(settings, args, _say)


def _cmd_retrainer(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.run_record import start_service
    from botcopier.trainers.retrain_service import run_retrainer

    if args.metrics_port is not None:
        retrainer = settings.retrainer.model_copy(update={"metrics_port": args.metrics_port})
        settings = settings.model_copy(update={"retrainer": retrainer})
    start_service(settings, "retrainer")
    return run_retrainer(settings, _say, args.max_requests)


def _cmd_online(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.run_record import start_service
    from botcopier.trainers.online_service import OnlineOptions, run_online

    options = OnlineOptions(
        account=args.account,
        magic=args.magic,
        symbol=args.symbol,
        timeframe_minutes=args.timeframe,
        name=args.name,
        snapshot_every=args.snapshot_every,
        from_beginning=args.from_beginning,
        max_bars=args.max_bars,
        metrics_port=args.metrics_port,
    )
    start_service(settings, "online")
    return run_online(settings, options, _say)


def _cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.demo import run_demo

    return run_demo(settings, keep_running=args.keep_running)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botcopier",
        description="Watch MetaTrader 4 bots, learn to clone them, ship the clones back to MT4.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"botcopier {__version__}")
    parser.add_argument(
        "--config", type=Path, help="TOML settings file (default: ./botcopier.toml)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run the end-to-end local demo")
    demo.add_argument("--keep-running", action="store_true", help="leave the broker running")
    demo.set_defaults(handler=_cmd_demo)

    broker = commands.add_parser(
        "broker",
        help="run the local Kafka broker",
        description="Apache Kafka (KRaft, from Maven Central jars) on 127.0.0.1, or the Tansu "
        "fallback when Java or Maven Central is missing.",
    )
    broker.add_argument(
        "action",
        choices=["start", "stop", "status", "fetch"],
        help="fetch: download and verify the Kafka jars only (done by start when needed)",
    )
    broker.add_argument(
        "--kind",
        choices=["auto", "kafka", "tansu"],
        help="which broker to start (default: broker.kind from the settings, 'auto')",
    )
    broker.set_defaults(handler=_cmd_broker)

    topics = commands.add_parser("topics", help="create or list the catalogue's topics")
    topics.add_argument("action", choices=["create", "list"])
    topics.set_defaults(handler=_cmd_topics)

    bridge = commands.add_parser(
        "bridge",
        help="run the TCP bridge from MT4 EAs into Kafka",
        description="Accepts EA connections (protocol: bridge/PROTOCOL.md), publishes their "
        "events to Kafka and acks them. Stops gracefully on SIGTERM/SIGINT.",
    )
    bridge.add_argument("--host", help="listen address (default: bridge.host)")
    bridge.add_argument("--port", type=int, help="listen port (default: bridge.port)")
    bridge.set_defaults(handler=_cmd_bridge)

    simulate = commands.add_parser(
        "simulate",
        help="simulated EAs trading bots over market data, sending to the bridge",
        description="Each EA is one MT4 account with three rule-based bots (magics 1001-1003) "
        "trading a seeded random walk or a bars CSV, reporting bars, trades and metric "
        "snapshots over the bridge protocol. Spools while the bridge is down and replays "
        "after reconnect. Tokens come from [bridge.tokens] (EA ids sim-1, sim-2, ...).",
    )
    simulate.add_argument("--eas", type=int, default=3, help="simulated EAs (default 3)")
    simulate.add_argument("--bars", type=int, default=500, help="bars per EA (default 500)")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--csv", type=Path, help="MT4 bars CSV instead of a random walk")
    simulate.add_argument(
        "--fading-bot",
        action="store_true",
        help="add a bot to the first EA whose win rate collapses a third of the way in "
        "(to see the agents ask for a retrain)",
    )
    simulate.add_argument(
        "--bars-per-second", type=float, help="pace per EA (default: as fast as acks allow)"
    )
    simulate.add_argument("--spool-dir", type=Path, help="default: <state_dir>/simulator-spool")
    simulate.set_defaults(handler=_cmd_simulate)

    ticks = commands.add_parser(
        "ticks",
        help="statistics of exported MT4 history",
        description="analyze FILE: bars per symbol, spread distribution and gaps of a CSV "
        "written by mql4/Scripts/TickHistoryExporter.mq4 (or any MT4 bars CSV).",
    )
    ticks.add_argument("action", choices=["analyze"])
    ticks.add_argument("file", type=Path)
    ticks.add_argument("--symbol", help="symbol for files without a symbol column")
    ticks.add_argument("--json", action="store_true", help="machine-readable output")
    ticks.set_defaults(handler=_cmd_ticks)

    importer = commands.add_parser(
        "import",
        help="load the seed project's logs and MT4 bar/tick CSVs into Kafka",
        description="KIND: trades (trades_raw.csv -> trade-events), metrics (metrics.csv -> "
        "ea-metrics), bars or ticks (-> market-data), or auto (told apart by the header). "
        "';' or ',' separated, any of the seed's column sets. Every row is checked first; bad "
        "rows are listed with their line numbers and skipped (exit 1), or with --strict fail "
        "the import before anything is published (exit 2). Importing a file again changes "
        "nothing downstream: each record's event_id derives from its row.",
    )
    importer.add_argument("kind", choices=["auto", "trades", "metrics", "bars", "ticks"])
    importer.add_argument("files", type=Path, nargs="+", metavar="FILE")
    importer.add_argument("--strict", action="store_true", help="any bad row fails the import")
    importer.add_argument("--account", type=int, help="MT4 account, for files without one")
    importer.add_argument("--magic", type=int, help="magic number, for files without one")
    importer.add_argument("--symbol", help="symbol, for bar/tick files without one")
    importer.add_argument("--timeframe", type=int, help="bar minutes, when not inferable")
    importer.add_argument(
        "--server-utc-offset",
        type=float,
        default=0.0,
        metavar="HOURS",
        help="MT4 server time minus UTC, taken off times without a zone (default 0)",
    )
    importer.add_argument(
        "--ea-id", default="import", help="ea_id of the records and event_id prefix (import)"
    )
    importer.set_defaults(handler=_cmd_import)

    mql4 = commands.add_parser(
        "mql4-check",
        help="static checks of MQL4 sources (lint and frame parity)",
        description="Every call defined or an MQL4 built-in, capitalised names declared, "
        "brackets balanced, no MQL5-only API, frame builders matching the Avro schemas.",
    )
    mql4.add_argument("dir", type=Path, nargs="?", default=Path("mql4"))
    mql4.set_defaults(handler=_cmd_mql4_check)

    agents = commands.add_parser(
        "agents",
        help="the Faust worker: rolling bot metrics, drift, retrain requests",
        description="Reads trade-events, keeps per-bot state in changelog-backed tables and "
        "publishes bot-metrics, drift and retrain-requests. Run several to share partitions.",
    )
    agents.add_argument(
        "--web-port", type=int, help="/healthz and /metrics port (default: agents.web_port)"
    )
    agents.add_argument("--log-level", default="info", choices=["crit", "error", "warn", "info"])
    agents.set_defaults(handler=_cmd_agents)

    collector = commands.add_parser(
        "collector",
        help="metrics history in SQLite, served as JSON and to Prometheus",
        description="Reads bot-metrics and ea-metrics (and counts retrain-requests and drift), "
        "keeps their history in SQLite and serves GET /metrics?limit=N (JSON, newest rows "
        "first), GET /prometheus (Prometheus text format) and GET /healthz. Stops gracefully "
        "on SIGTERM/SIGINT. Grafana dashboard: infra/grafana/botcopier.json.",
    )
    collector.add_argument("--host", help="listen address (default: collector.host)")
    collector.add_argument("--port", type=int, help="HTTP port (default: collector.port, 9107)")
    collector.add_argument(
        "--database", type=Path, help="SQLite file (default: <state_dir>/collector.sqlite)"
    )
    collector.set_defaults(handler=_cmd_collector)

    from botcopier.trainers.train_arguments import add_data_arguments, add_extra_arguments

    train = commands.add_parser(
        "train",
        help="train a clone of one bot's decisions (batch: logistic regression or LightGBM)",
        description="Labels each bar of the bot's chart with what it did (buy, sell, close, "
        "none), computes the declared features, fits on the oldest bars, tunes thresholds on "
        "the next, scores on the newest and writes <out>/<name>-<version>.model.json.",
    )
    add_data_arguments(train)
    train.add_argument("--name", help="model name (default clone-<account>-<magic>)")
    train.add_argument("--out", type=Path, help="folder (default <state_dir>/models)")
    train.add_argument(
        "--prune-threshold", type=float, help="drop features below this importance share, refit"
    )
    train.add_argument(
        "--prune-warn", type=float, default=0.5, help="warn when more than this share is pruned"
    )
    train.add_argument(
        "--incremental", action="store_true", help="continue the newest model of --name"
    )
    train.add_argument("--previous", type=Path, help="model to continue (with --incremental)")
    train.add_argument(
        "--cache-features",
        action="store_true",
        help="reuse the feature table of an unchanged history (<state_dir>/feature-cache)",
    )
    train.add_argument(
        "--lite-mode",
        action="store_true",
        help="linear model in bounded memory: --bars read in chunks, fitted batch by batch",
    )
    train.add_argument(
        "--batch-rows",
        type=int,
        default=50_000,
        help="rows per chunk and per fitting batch with --lite-mode (default 50000)",
    )
    add_extra_arguments(train)
    train.add_argument(
        "--search",
        type=int,
        metavar="TRIALS",
        help="Optuna search (family, hyperparameters, feature subset); needs optuna installed",
    )
    train.set_defaults(handler=_cmd_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a clone against what the bot did: entry macro-F1, bar agreement, per class",
        description="Trains a clone on the oldest bars (unless --score-model is given) and "
        "scores its decisions on the newest --test share against the bot's own; ends with a "
        "RESULT line.",
    )
    add_data_arguments(evaluate)
    evaluate.add_argument("--score-model", type=Path, help="score this model.json instead")
    evaluate.add_argument(
        "--decisions", type=Path, help="score an EA's decision log (CSV) on the bot's bars instead"
    )
    evaluate.add_argument("--server-utc-offset", type=float, default=0.0, metavar="HOURS",
                          help="for decision times logged as MT4 server time")  # fmt: skip
    evaluate.set_defaults(handler=_cmd_evaluate)

    retrainer = commands.add_parser(
        "retrainer",
        help="answer retrain requests: train, compare with the live model, publish if better",
        description="Consumes retrain-requests; for each, trains a candidate on the bot's "
        "history up to the request, scores it and the live model (newest on the models topic) "
        "on the same held-out bars and publishes the candidate to models only if it wins by "
        "retrainer.margin. Every answer is a RetrainDecision on retrain-decisions.",
    )
    retrainer.add_argument("--max-requests", type=int, help="stop after answering this many")
    retrainer.add_argument(
        "--metrics-port", type=int, help="/healthz and /metrics (default retrainer.metrics_port)"
    )
    retrainer.set_defaults(handler=_cmd_retrainer)

    online = commands.add_parser(
        "online",
        help="River online clone of one bot: learns bar by bar, publishes model.json snapshots",
        description="Reads the bot's trade-events and its chart's bars from market-data in "
        "event-time order; predicts each bar, scores it, then learns it (prequential), prints "
        "rolling accuracy and entry macro-F1, and publishes a snapshot (model.json, linear "
        "family) to models every --snapshot-every bars. Stops on SIGTERM/SIGINT.",
    )
    online.add_argument("--account", type=int, required=True, help="the bot's MT4 account")
    online.add_argument("--magic", type=int, required=True, help="the bot's magic number")
    online.add_argument("--symbol", help="default: the symbol of the bot's first event")
    online.add_argument("--timeframe", type=int, help="bar minutes (default: its chart's)")
    online.add_argument("--name", help="model name (default clone-<account>-<magic>-online)")
    online.add_argument(
        "--snapshot-every", type=int, default=100, metavar="N", help="bars (default 100)"
    )
    online.add_argument(
        "--from-beginning", action="store_true", help="replay the history first (default: new)"
    )
    online.add_argument("--max-bars", type=int, help="stop after learning this many bars")
    online.add_argument(
        "--metrics-port", type=int, default=9109, help="/healthz and /metrics (0: none)"
    )
    online.set_defaults(handler=_cmd_online)

    tail = commands.add_parser("tail", help="print a topic's records as readable lines")
    tail.add_argument("topic", help="catalogue name, e.g. trade-events")
    tail.add_argument("--latest", action="store_true", help="only new records")
    tail.add_argument("--max", type=int, help="stop after this many records")
    tail.add_argument(
        "--idle-timeout", type=float, help="stop after this many seconds without a record"
    )
    tail.set_defaults(handler=_cmd_tail)

    schemas = commands.add_parser("schemas", help="list the Avro schemas and their fingerprints")
    schemas.set_defaults(handler=_cmd_schemas)

    config = commands.add_parser("config", help="show the effective settings (secrets masked)")
    config.add_argument("action", choices=["show"])
    config.set_defaults(handler=_cmd_config)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Library warnings (librdkafka's included) print as one labelled line each.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config)
        return args.handler(settings, args)
    except BotCopierError as exc:
        print(f"botcopier: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
