"""The versions of each model on the ``models`` topic, and choosing which one ships.

The topic is compacted by model name, so its newest record per name is what the file-sync
ships; older records stay until the broker compacts them, so reading the whole topic gives
every version still retained. Promoting or rolling back republishes an existing version's
record as the newest one: the same ``model_json``, ``sha256`` and version under a new
``event_id`` and ``event_time_ms``. The event id says which action made it
(``mp-<name>-<version>-promote-<id>`` or ``...-rollback-<id>``), so the shipping history
can be replayed: a rollback undoes the change that made the current version current, and
a second rollback goes one further back instead of returning to the version just left.

Examples
--------
>>> records = [example_record("m", v, f1) for v, f1 in [("v1", 0.6), ("v2", 0.9), ("v3", 0.7)]]
>>> [v.version for v in versions_of(records)["m"]]
['v3', 'v2', 'v1']
>>> best_version(versions_of(records)["m"], "test_entry_macro_f1").version
'v2'
>>> shipped_stack(records)
['v1', 'v2', 'v3']
>>> back = republished(records[1], "rollback", now_ms=5)
>>> shipped_stack([*records, back]), back["sha256"] == records[1]["sha256"]
(['v1', 'v2'], True)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botcopier.exceptions import BotCopierError

ACTIONS = ("promote", "rollback")


class RegistryError(BotCopierError):
    """An unknown model or metric, or nothing to promote or roll back to."""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    sha256: str
    metrics: dict[str, float]
    first_published_ms: int
    times_published: int
    record: dict[str, Any]  # its newest record, the one a republish copies


def _action(record: dict[str, Any]) -> str | None:
    stem = f"mp-{record['model_name']}-{record['model_version']}-"
    for action in ACTIONS:
        if record["event_id"].startswith(stem + action + "-"):
            return action
    return None


def by_name(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by model name, topic order kept."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(record["model_name"], []).append(record)
    return groups


def versions_of(records: Iterable[dict[str, Any]]) -> dict[str, list[ModelVersion]]:
    """Each name's distinct versions, newest first (by when each first appeared)."""
    out = {}
    for name, mine in by_name(records).items():
        first: dict[str, dict[str, Any]] = {}
        newest: dict[str, dict[str, Any]] = {}
        count: dict[str, int] = {}
        for record in mine:
            version = record["model_version"]
            first.setdefault(version, record)
            newest[version] = record
            count[version] = count.get(version, 0) + 1
        out[name] = [
            ModelVersion(
                name=name,
                version=version,
                sha256=newest[version]["sha256"],
                metrics=dict(newest[version].get("metrics") or {}),
                first_published_ms=first[version]["event_time_ms"],
                times_published=count[version],
                record=newest[version],
            )
            for version in reversed(first)
        ]
    return out


def shipped_stack(records: Iterable[dict[str, Any]]) -> list[str]:
    """One model's versions as they became current, the current one last, rollbacks undone.

    A publish or promote pushes its version; a rollback pops the version it replaced.
    """
    stack: list[str] = []
    for record in records:
        version = record["model_version"]
        if _action(record) == "rollback" and stack:
            stack.pop()
        if not stack or stack[-1] != version:
            stack.append(version)
    return stack


def best_version(versions: list[ModelVersion], metric: str) -> ModelVersion:
    """The version with the highest ``metric``; of equals, the newest."""
    scored = [v for v in versions if metric in v.metrics]
    if not scored:
        known = sorted({key for v in versions for key in v.metrics})
        name = versions[0].name if versions else "?"
        raise RegistryError(
            f"no version of {name} has metric {metric!r}; its metrics: {', '.join(known) or 'none'}"
        )
    # versions are newest first and max() keeps the first of equals.
    return max(scored, key=lambda v: v.metrics[metric])


def rollback_target(records: list[dict[str, Any]]) -> str:
    """The version that was current before the current one of this model's ``records``."""
    stack = shipped_stack(records)
    if len(stack) < 2:
        name = records[0]["model_name"] if records else "?"
        raise RegistryError(
            f"nothing to roll back to: {name} has no earlier shipped version on the topic"
        )
    return stack[-2]


def republished(record: dict[str, Any], action: str, now_ms: int | None = None) -> dict[str, Any]:
    """A copy of ``record`` to put on the topic again: new event id and time, same model."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    stem = f"mp-{record['model_name']}-{record['model_version']}"
    return {
        **record,
        "event_id": f"{stem}-{action}-{uuid.uuid4().hex[:12]}",
        "event_time_ms": int(time.time() * 1000) if now_ms is None else now_ms,
        # A new event: it is not part of the trace that published the model first.
        "trace_id": None,
        "span_id": None,
    }


def records_of(groups: dict[str, list[dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    if name not in groups:
        known = ", ".join(sorted(groups)) or "none"
        raise RegistryError(f"no model named {name!r} on the models topic; known: {known}")
    return groups[name]


def example_record(name: str, version: str, score: float) -> dict[str, Any]:
    return {
        "event_id": f"mp-{name}-{version}",
        "event_time_ms": 0,
        "model_name": name,
        "model_version": version,
        "model_json": "{}",
        "sha256": version * 8,
        "metrics": {"test_entry_macro_f1": score},
    }
