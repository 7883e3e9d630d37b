"""The end-to-end demo: what `botcopier demo` (and the README's first command) runs.

Broker → topics → bridge (its own process) → agents worker (its own process) → simulated
Observer EAs sending bars, trades and metric snapshots, one of them with a bot whose edge
fades → the agents' metrics shown live as the EAs trade, and the retrain request the fading
bot causes → the retrain service answering it (a bot that peeks at the future cannot be
cloned: its candidate is rejected, with the figures) → a clone of the MA-cross bot trained
from Kafka → published, synced by file-sync into a demo ``MQL4/Files`` folder, generated as
a strategy EA and backtested on the bars after its training window → what landed on the
topics, decoded. Each later part of BotCopier extends it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import threading
import urllib.request
from itertools import islice
from pathlib import Path

from pydantic import SecretStr

from botcopier.bridge.simulator.run import SimulationPlan, simulate
from botcopier.config import Settings
from botcopier.demo_ship import ship_clone
from botcopier.infra.broker import start_broker, stop
from botcopier.infra.broker import status as broker_status
from botcopier.services import ServiceProcess, botcopier_command
from botcopier.streams.admin import create_topics, message_counts, wait_for_group
from botcopier.streams.agents_view import AgentsView, metrics_line
from botcopier.streams.tail import tail
from botcopier.trainers.retrain_service import RetrainService
from botcopier.trainers.train_command import run_train

SHOWN_TOPICS = (
    "trade-events",
    "market-data",
    "ea-metrics",
    "dead-letter",
    "bot-metrics",
    "drift",
    "retrain-requests",
    "retrain-decisions",
    "models",
)
FADING_MAGIC = 1004  # FadingEdgeBot's magic number
DASHBOARD_TOKEN_FILE = "demo-dashboard-token"  # noqa: S105 - a file name, not a secret


def _say(line: str) -> None:
    print(line, flush=True)


def _with_demo_tokens(settings: Settings, plan: SimulationPlan) -> Settings:
    """The configured EA tokens, plus a fresh one for every simulated EA that has none."""
    tokens = dict(settings.bridge.tokens)
    for index in range(plan.eas):
        tokens.setdefault(plan.ea_id(index), SecretStr(secrets.token_urlsafe(24)))
    bridge = settings.bridge.model_copy(update={"tokens": tokens})
    return settings.model_copy(update={"bridge": bridge})


def _service_env(settings: Settings) -> dict[str, str]:
    """What a service process needs to find the demo's broker, topics and state."""
    return {
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "BOTCOPIER_PATHS__STATE_DIR": str(settings.paths.state_dir),
    }


def _bridge_env(settings: Settings) -> dict[str, str]:
    env = _service_env(settings)
    for ea_id, token in settings.bridge.tokens.items():
        env[f"BOTCOPIER_BRIDGE__TOKENS__{ea_id}"] = token.get_secret_value()
    return env


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own endpoint
        return response.read()


def _bridge_health(settings: Settings) -> dict:
    return json.loads(_get(f"http://{settings.bridge.host}:{settings.bridge.metrics_port}/healthz"))


def _bridge_metrics(settings: Settings) -> list[str]:
    text = _get(f"http://{settings.bridge.host}:{settings.bridge.metrics_port}/metrics").decode()
    wanted = (
        "botcopier_bridge_events_published_total",
        "botcopier_bridge_ack_latency_seconds_count",
    )
    return [line for line in text.splitlines() if line.startswith(wanted)]


def _dashboard_token(settings: Settings) -> str:
    """The dashboard's token: the configured one, else a fresh one kept in a private file
    (printed nowhere: whoever may read the state folder may log in)."""
    if settings.dashboard.token is not None:
        return settings.dashboard.token.get_secret_value()
    token = secrets.token_urlsafe(24)
    path = settings.paths.state_dir / DASHBOARD_TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def _dashboard_summary(settings: Settings, token: str) -> str:
    request = urllib.request.Request(  # noqa: S310 - our own endpoint
        f"http://{settings.dashboard.host}:{settings.dashboard.port}/api/snapshot",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        view = json.loads(response.read())
    return (
        f"the dashboard shows {len(view['bot'])} bots, {len(view['trade'])} recent trades, "
        f"{len(view['retrain'])} retrain requests and {len(view['model'])} model versions"
    )


def _start(settings: Settings, name: str, argv: list[str], env: dict[str, str]) -> ServiceProcess:
    log = settings.paths.state_dir / "logs" / f"{name}.log"
    return ServiceProcess(name, botcopier_command(*argv), env, log, die_with_parent=True)


def _collector_figures(settings: Settings) -> list[str]:
    base = f"http://{settings.collector.host}:{settings.collector.port}"
    history = json.loads(_get(f"{base}/metrics?limit=3"))
    lines = [f"  GET /metrics?limit=3 -> {len(history['bot_metrics'])} newest bot metrics, e.g.:"]
    lines += [f"    {json.dumps(row)[:150]}" for row in history["bot_metrics"][:1]]
    wanted = ("botcopier_bot_win_rate{", "botcopier_retrain_requests_total{")
    prometheus = _get(f"{base}/prometheus").decode().splitlines()
    lines += [f"  {line}" for line in prometheus if line.startswith(wanted)][:8]
    return lines


def _answer_retrains(settings: Settings, requests: int, timeout_s: float = 300.0) -> list[dict]:
    """Run the retrain service in-process until it has answered ``requests`` requests."""
    service = RetrainService(settings, say=lambda line: _say(f"    {line}"))
    stop = threading.Event()
    timer = threading.Timer(timeout_s, stop.set)
    timer.start()
    try:
        service.run(stop, max_requests=requests)
    finally:
        timer.cancel()
    return list(service.recent)


def _train_clone(settings: Settings, account: int, magic: int, files: Path) -> Path | None:
    args = argparse.Namespace(
        account=account, magic=magic, symbol=None, timeframe=None, bars=None, events=None,
        validation=0.15, test=0.3, family=None, no_class_weight=False,
        no_threshold_tuning=False, rounds=300, seed=0, name=None, out=files,
        prune_threshold=None, prune_warn=0.5, incremental=False, previous=None, search=None,
        mode="auto", uncertain_file=None, uncertain_weight=2.0, replay_file=None,
        replay_weight=2.0, regress_sl_tp=True, risk_parity=True,
    )  # fmt: skip
    run_train(settings, args, lambda line: _say(f"  {line}"))
    written = sorted(files.glob(f"clone-{account}-{magic}-*.model.json"))
    return written[-1] if written else None


def run_demo(settings: Settings, keep_running: bool = False, bars: int = 1_200) -> int:
    # Fresh account numbers per run: the bots are new, so the metrics and the retrain
    # cooldowns of an earlier run (same simulated market times) do not mix into this one.
    plan = SimulationPlan(
        eas=3,
        bars=bars,
        seed=1,
        bars_per_second=100,
        fading_bot=True,
        account_base=900_000 + secrets.randbelow(9_000) * 100,
    )
    settings = _with_demo_tokens(settings, plan)
    was_running = broker_status(settings).running
    _say("== 1/10 broker")
    state = start_broker(settings, progress=_say)
    services: list[ServiceProcess] = []
    try:
        _say("== 2/10 topics")
        create_topics(settings, progress=lambda line: _say(f"  {line}"))
        before = message_counts(settings, SHOWN_TOPICS)

        _say(f"== 3/10 bridge on {settings.bridge.host}:{settings.bridge.port}")
        bridge = _start(settings, "bridge", ["bridge"], _bridge_env(settings))
        services.append(bridge)
        bridge.start(port=settings.bridge.port, host=settings.bridge.host)
        _say(f"  healthz: {_bridge_health(settings)}  (log: {bridge.log_path})")

        _say("== 4/10 agents worker, metrics collector and dashboard")
        agents = _start(settings, "agents", ["agents"], _service_env(settings))
        services.append(agents)
        agents.start(port=settings.agents.web_port, timeout_s=60)
        collector = _start(settings, "collector", ["collector"], _service_env(settings))
        services.append(collector)
        collector.start(port=settings.collector.port, host=settings.collector.host)
        group = f"{settings.kafka.topic_prefix}agents"
        assigned = wait_for_group(settings, group, settings.topic("trade-events"))
        _say(f"  agents consuming trade-events partitions {sorted(set().union(*assigned))}")
        _say(
            f"  agents /metrics on 127.0.0.1:{settings.agents.web_port}, collector /metrics and "
            f"/prometheus on {settings.collector.host}:{settings.collector.port}"
        )
        dashboard_token = _dashboard_token(settings)
        dashboard_env = {**_service_env(settings), "BOTCOPIER_DASHBOARD__TOKEN": dashboard_token}
        dashboard = _start(settings, "dashboard", ["dashboard"], dashboard_env)
        services.append(dashboard)
        dashboard.start(port=settings.dashboard.port, host=settings.dashboard.host)
        _say(f"  logs: {agents.log_path}, {collector.log_path}, {dashboard.log_path}")
        _say(
            f"  dashboard: http://{settings.dashboard.host}:{settings.dashboard.port}/ (its token "
            f"is in {settings.paths.state_dir / DASHBOARD_TOKEN_FILE})"
        )

        _say(
            f"== 5/10 simulator: {plan.eas} EAs x {plan.bars} H1 bars, 3 bots each; "
            f"{plan.ea_id(0)} also runs a bot whose edge fades after {plan.bars // 3} bars "
            f"(magic {FADING_MAGIC})"
        )
        view = AgentsView(settings, emit=_say)
        view.start()
        spool = settings.paths.state_dir / "demo-spool"
        result = asyncio.run(simulate(settings, plan, spool, progress=_say))
        for report in result.reports:
            _say(
                f"  {report.ea_id}: {report.trades} trades, {report.bars} bars, "
                f"{report.metrics} metric snapshots; all acked: {not result.unacked[report.ea_id]}"
            )
        view.wait_quiet()
        seen = view.stop()

        _say("== 6/10 what the agents concluded")
        for bot, metrics in sorted(seen.latest.items()):
            _say(f"  {metrics_line(bot, metrics)}")
        fading_bot = f"{plan.account_base + 1}:{FADING_MAGIC}"
        fading_requests = [r for r in seen.retrains if f"{r['account']}:{r['magic']}" == fading_bot]
        _say(
            f"  {seen.metrics} metric updates, {len(seen.drifts)} drift events, "
            f"{len(seen.retrains)} retrain requests ({len(fading_requests)} for the fading "
            f"bot {fading_bot})"
        )
        for line in _collector_figures(settings):
            _say(line)

        _say(f"== 7/10 retrain service: answering the {len(seen.retrains)} retrain requests")
        decisions = _answer_retrains(settings, len(seen.retrains))
        for decision in decisions:
            _say(f"  {decision['model_name']} {decision['outcome']}: {decision['reason']}")

        clone_bot = (plan.account_base + 1, 1001)
        mt4_root = settings.paths.state_dir / "demo-mt4"
        _say(f"== 8/10 a clone of the MA-cross bot {clone_bot[0]}:{clone_bot[1]}, from Kafka")
        model_path = _train_clone(settings, *clone_bot, settings.paths.state_dir / "demo-models")

        _say("== 9/10 ship it: publish, file-sync into MT4's Files folder, strategy EA, backtest")
        shipped = None
        if model_path is not None:
            shipped = ship_clone(settings, model_path, mt4_root, lambda line: _say(f"  {line}"))

        _say(f"  {_dashboard_summary(settings, dashboard_token)}")

        _say("== 10/10 on the topics")
        after = message_counts(settings, SHOWN_TOPICS)
        for name in SHOWN_TOPICS:
            _say(f"  {settings.topic(name):28} +{after[name] - before[name]} (total {after[name]})")
        _say("  first trade events, decoded (botcopier tail trade-events):")
        lines: list[str] = []
        tail(settings, "trade-events", emit=lines.append, max_messages=6, idle_timeout_s=10)
        for line in islice(lines, 6):
            _say(f"    {line}")
        for line in _bridge_metrics(settings):
            _say(f"  {line}")
        sent = sum(r.trades for r in result.reports)
        arrived = after["trade-events"] - before["trade-events"]
        exactly_once = result.complete and arrived == sent
        _say(
            f"\nevery trade event acked and on Kafka exactly once: {exactly_once} "
            f"({arrived}/{sent})"
        )
        _say(f"the fading bot's collapse asked for a retrain: {bool(fading_requests)}")
        answered = len(decisions) == len(seen.retrains)
        _say(f"every retrain request answered with a reason: {answered}")
        synced = shipped.synced if shipped else None
        _say(f"clone model published and synced into the demo MT4 Files folder: {synced}")
        _say(f"strategy EA generated: {shipped.expert if shipped else None}")
        _say(f"broker: {state.display_name} on {state.bootstrap}")
        return 0 if exactly_once and fading_requests and answered and synced else 1
    finally:
        for service in reversed(services):
            if service.process is not None:
                code = service.stop()
                _say(f"{service.name} stopped (exit {code})")
        if keep_running or was_running:
            _say("broker left running: `botcopier broker stop` stops it")
        else:
            stop(settings, progress=_say)
