"""What every benchmark shares: settings for a throwaway broker, output, percentiles."""

from __future__ import annotations

import os
import statistics
import uuid
from pathlib import Path

from tests.helpers import free_port


def say(line: str) -> None:
    print(line, flush=True)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def bench_environ(work: Path, bootstrap: str | None) -> dict[str, str]:
    """The settings of a benchmark run, as the environment its services get too: its own
    broker on free ports (or ``bootstrap``), its own topic prefix, state under ``work``;
    nothing from the user's configuration. `load_settings(environ=...)` reads them."""
    environ = {
        **{k: v for k, v in os.environ.items() if k in ("HOME", "XDG_CACHE_HOME")},
        "BOTCOPIER_PATHS__STATE_DIR": str(work / "state"),
        "BOTCOPIER_BROKER__PORT": str(free_port()),
        "BOTCOPIER_BROKER__CONTROLLER_PORT": str(free_port()),
        "BOTCOPIER_BROKER__KIND": "kafka",
        "BOTCOPIER_KAFKA__TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:6]}.",
    }
    if bootstrap:
        environ["BOTCOPIER_KAFKA__BOOTSTRAP_SERVERS"] = bootstrap
    return environ
