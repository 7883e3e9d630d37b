"""The services a scenario runs as real processes: the bridge and the agents workers."""

from __future__ import annotations

from pathlib import Path

from botcopier.config import Settings
from botcopier.services import ServiceProcess
from tests.bridge_harness import BridgeProcess
from tests.faults.traffic import TrafficPlan
from tests.helpers import free_port
from tests.test_agents import agents_worker

# Only the metrics the scenarios check: drift detectors and retrain requests add outputs
# (and CPU) the checks do not look at.
QUIET_AGENTS = {"drift_detectors": "", "min_trades": "1000000000"}


def bridge_env(settings: Settings, plan: TrafficPlan, state_dir: Path) -> dict[str, str]:
    return {
        "BOTCOPIER_PATHS__STATE_DIR": str(state_dir),
        "BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers(),
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "BOTCOPIER_BRIDGE__METRICS_PORT": "0",
        **plan.bridge_env(),
    }


def start_bridge(settings: Settings, plan: TrafficPlan, folder: Path) -> tuple[BridgeProcess, int]:
    """`botcopier bridge` as a subprocess on a free port, for ``plan``'s EAs."""
    port = free_port()
    bridge = BridgeProcess(
        bridge_env(settings, plan, folder / "bridge-state"), folder / "bridge.log"
    )
    bridge.start(port)
    return bridge, port


def start_worker(settings: Settings, folder: Path, name: str, **env: str) -> ServiceProcess:
    """`botcopier agents` as a subprocess with an empty state folder of its own: whatever
    state it has comes from the changelog topics."""
    return agents_worker(settings, folder / name, name, **{**QUIET_AGENTS, **env})
