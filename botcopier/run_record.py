"""What a service started as: a ``run_info.json`` per start, and the one call every service
makes first (`start_service`: logging, then the record).

A record holds the service, its start time, host, process id, Python and the versions of
the stack's packages, the git commit when BotCopier runs from a checkout, and a hash of the
effective settings with the secrets left out: two runs with equal hashes were configured
alike, whatever their tokens. Records go to ``<state_dir>/runs/<service>-<start>-<pid>.json``
and are never overwritten, so a crash loop leaves one record per attempt.

Examples
--------
>>> from botcopier.config import load_settings
>>> a = load_settings(environ={"BOTCOPIER_BRIDGE__TOKENS__SIM-1": "one"})
>>> b = load_settings(environ={"BOTCOPIER_BRIDGE__TOKENS__SIM-1": "two"})
>>> c = load_settings(environ={"BOTCOPIER_BRIDGE__PORT": "5556"})
>>> config_hash(a) == config_hash(b), config_hash(a) == config_hash(c), len(config_hash(a))
(True, False, 64)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from botcopier import __version__
from botcopier.atomic_file import write_atomic
from botcopier.config import Settings
from botcopier.logs import SecretFilter, configure_logging, secrets_of

# The distributions whose versions decide how a run behaves.
STACK = (
    "botcopier",
    "confluent-kafka",
    "aiokafka",
    "faust-streaming",
    "fastavro",
    "numpy",
    "pandas",
    "scikit-learn",
    "lightgbm",
    "river",
    "pyarrow",
    "matplotlib",
    "pydantic",
    "prometheus-client",
    "opentelemetry-sdk",
)
_SECRET_WORDS = ("password", "secret", "token")

log = logging.getLogger("botcopier.run")


def _without_secrets(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _without_secrets(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_without_secrets(v) for v in data]
    # SecretStr fields already dump as asterisks; free-form client properties do not.
    if any(word in key.lower() for word in _SECRET_WORDS):
        return None
    return data


def config_hash(settings: Settings) -> str:
    """SHA-256 of the effective settings as canonical JSON, secrets left out."""
    text = json.dumps(_without_secrets(settings.redacted()), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_versions(names: tuple[str, ...] = STACK) -> dict[str, str | None]:
    """Installed version of each distribution, None when it is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(folder: Path | None = None) -> str | None:
    """The commit checked out where BotCopier's sources are, None outside a checkout."""
    folder = folder or Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git installed, or a hung file system: the record goes without
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def run_record(settings: Settings, service: str, started_ms: int | None = None) -> dict[str, Any]:
    """The record of ``service`` starting now (or at ``started_ms``) with ``settings``."""
    started_ms = round(time.time() * 1000) if started_ms is None else started_ms
    masker = SecretFilter(secrets_of(settings))
    return {
        "service": service,
        "started_ms": started_ms,
        "started": datetime.fromtimestamp(started_ms / 1000, tz=UTC).isoformat(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "argv": [masker.mask(arg) for arg in sys.argv],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "botcopier_version": __version__,
        "packages": package_versions(),
        "git_commit": git_commit(),
        "config_hash": config_hash(settings),
        "state_dir": str(settings.paths.state_dir),
        "bootstrap_servers": settings.bootstrap_servers(),
        "topic_prefix": settings.kafka.topic_prefix,
    }


def write_run_record(settings: Settings, service: str) -> Path:
    """Write the record of this start under ``<state_dir>/runs``; returns its path."""
    record = run_record(settings, service)
    stamp = datetime.fromtimestamp(record["started_ms"] / 1000, tz=UTC)
    name = f"{service}-{stamp:%Y%m%dT%H%M%S}{stamp.microsecond // 1000:03d}Z-{os.getpid()}.json"
    return write_atomic(
        settings.paths.state_dir / "runs" / name, json.dumps(record, indent=2) + "\n"
    )


def start_service(settings: Settings, service: str, **logging_options: Any) -> Path:
    """Configure ``service``'s logs, write its run record and log the start; the record's
    path. Every long-running service calls this before anything else."""
    configure_logging(service, settings, **logging_options)
    path = write_run_record(settings, service)
    log.info(
        "%s starting (botcopier %s)",
        service,
        __version__,
        extra={"run_record": str(path), "config_hash": config_hash(settings)},
    )
    return path
