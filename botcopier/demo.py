"""The end-to-end demo: what `botcopier demo` (and the README's first command) runs.

Broker → topics → bridge (its own process) → simulated Observer EAs sending bars, trades and
metric snapshots → what landed on the topics, decoded. Each later part of BotCopier extends
it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.request
from itertools import islice

from pydantic import SecretStr

from botcopier.bridge.simulator.run import SimulationPlan, simulate
from botcopier.config import Settings
from botcopier.infra.broker import start_broker, stop
from botcopier.infra.broker import status as broker_status
from botcopier.services import ServiceProcess, botcopier_command
from botcopier.streams.admin import create_topics, message_counts
from botcopier.streams.tail import tail

SHOWN_TOPICS = ("trade-events", "market-data", "ea-metrics", "dead-letter")


def _say(line: str) -> None:
    print(line, flush=True)


def _with_demo_tokens(settings: Settings, plan: SimulationPlan) -> Settings:
    """The configured EA tokens, plus a fresh one for every simulated EA that has none."""
    tokens = dict(settings.bridge.tokens)
    for index in range(plan.eas):
        tokens.setdefault(plan.ea_id(index), SecretStr(secrets.token_urlsafe(24)))
    bridge = settings.bridge.model_copy(update={"tokens": tokens})
    return settings.model_copy(update={"bridge": bridge})


def _bridge_env(settings: Settings) -> dict[str, str]:
    env = {
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "BOTCOPIER_PATHS__STATE_DIR": str(settings.paths.state_dir),
    }
    for ea_id, token in settings.bridge.tokens.items():
        env[f"BOTCOPIER_BRIDGE__TOKENS__{ea_id}"] = token.get_secret_value()
    return env


def _bridge_health(settings: Settings) -> dict:
    url = f"http://{settings.bridge.host}:{settings.bridge.metrics_port}/healthz"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own endpoint
        return json.loads(response.read())


def _bridge_metrics(settings: Settings) -> list[str]:
    url = f"http://{settings.bridge.host}:{settings.bridge.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own endpoint
        text = response.read().decode()
    wanted = (
        "botcopier_bridge_events_published_total",
        "botcopier_bridge_ack_latency_seconds_count",
    )
    return [line for line in text.splitlines() if line.startswith(wanted)]


def run_demo(settings: Settings, keep_running: bool = False, bars: int = 300) -> int:
    plan = SimulationPlan(eas=3, bars=bars, seed=1)
    settings = _with_demo_tokens(settings, plan)
    was_running = broker_status(settings).running
    _say("== 1/5 broker")
    state = start_broker(settings, progress=_say)
    bridge: ServiceProcess | None = None
    try:
        _say("== 2/5 topics")
        create_topics(settings, progress=lambda line: _say(f"  {line}"))
        before = message_counts(settings, SHOWN_TOPICS)

        _say(f"== 3/5 bridge on {settings.bridge.host}:{settings.bridge.port}")
        bridge = ServiceProcess(
            "bridge",
            botcopier_command("bridge"),
            _bridge_env(settings),
            settings.paths.state_dir / "logs" / "bridge.log",
        )
        bridge.start(port=settings.bridge.port, host=settings.bridge.host)
        _say(f"  healthz: {_bridge_health(settings)}  (log: {bridge.log_path})")

        _say(f"== 4/5 simulator: {plan.eas} EAs x {plan.bars} H1 bars, 3 bots each")
        spool = settings.paths.state_dir / "demo-spool"
        result = asyncio.run(simulate(settings, plan, spool, progress=_say))
        for report in result.reports:
            _say(
                f"  {report.ea_id}: {report.trades} trades, {report.bars} bars, "
                f"{report.metrics} metric snapshots; all acked: {not result.unacked[report.ea_id]}"
            )

        _say("== 5/5 on the topics")
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
        ok = result.complete and arrived == sent
        _say(f"\nevery trade event acked and on Kafka exactly once: {ok} ({arrived}/{sent})")
        _say(f"broker: {state.display_name} on {state.bootstrap}")
        return 0 if ok else 1
    finally:
        if bridge is not None and bridge.process is not None:
            code = bridge.stop()
            _say(f"bridge stopped (exit {code})")
        if keep_running or was_running:
            _say("broker left running: `botcopier broker stop` stops it")
        else:
            stop(settings, progress=_say)
