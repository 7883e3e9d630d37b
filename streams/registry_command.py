"""`botcopier publish` and `botcopier models list|promote|rollback`.

``publish`` puts a model.json file on the ``models`` topic (checked first, as the retrainer
publishes its own). ``models`` reads the whole topic (`model_registry`) and republishes a
chosen version so that the file-sync ships it.

Examples
--------
>>> from botcopier.streams.model_registry import example_record, versions_of
>>> version = versions_of([example_record("m", "v1", 0.25)])["m"][0]
>>> describe_version(version, current=True)
'  * v1  created ?  published 1970-01-01 00:00Z  sha256 v1v1v1v1v1v1  test_entry_macro_f1=0.2500'
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botcopier.config import Settings
from botcopier.streams.model_registry import ModelVersion


def _say(line: str) -> None:
    print(line, flush=True)


def _when(ms: int | None) -> str:
    if ms is None:
        return "?"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%MZ")


def describe_version(version: ModelVersion, current: bool) -> str:
    try:
        created = _when(json.loads(version.record["model_json"]).get("created_ms"))
    except (ValueError, AttributeError):
        created = "?"
    metrics = "  ".join(f"{k}={v:.4f}" for k, v in sorted(version.metrics.items()))
    again = f" ({version.times_published}x)" if version.times_published > 1 else ""
    return (
        f"  {'*' if current else ' '} {version.version}  created {created}  "
        f"published {_when(version.first_published_ms)}{again}  sha256 {version.sha256[:12]}"
        + (f"  {metrics}" if metrics else "")
    )


def _read_models(settings: Settings) -> list[dict[str, Any]]:
    from botcopier.trainers.sources import read_to_end

    records, _ends = read_to_end(settings, "models", lambda key, record: True)
    return records


def _send(settings: Settings, records: list[dict[str, Any]]) -> None:
    from botcopier.trainers.publishing import RecordPublisher

    publisher = RecordPublisher(settings)
    for record in records:
        publisher.send("models", "ModelPublished", record["model_name"], record)
    publisher.flush()


def _cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.streams.model_files import check_file_part
    from botcopier.trainers.model_document import load_model
    from botcopier.trainers.publishing import model_published_record

    doc = load_model(args.model)
    if args.name:
        doc["name"] = args.name
    # Refused here rather than by every file-sync later.
    check_file_part(doc["name"], "model name")
    check_file_part(doc["version"], "model version")
    record = model_published_record(doc)
    _send(settings, [record])
    _say(
        f"published {record['model_name']} {record['model_version']} "
        f"sha256 {record['sha256']} to {settings.topic('models')}"
    )
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.streams.model_registry import by_name, records_of, versions_of

    groups = by_name(_read_models(settings))
    names = [args.name] if args.name else sorted(groups)
    if not names:
        _say(f"no models on {settings.topic('models')}")
    for name in names:
        mine = records_of(groups, name)
        current = mine[-1]["model_version"]
        versions = versions_of(mine)[name]
        _say(f"{name}: {len(versions)} versions on the topic, current {current}")
        for version in versions:
            _say(describe_version(version, version.version == current))
    if names:
        _say(f"(* = current; versions newest first; shipped order: {_stacks(groups, names)})")
    return 0


def _stacks(groups: dict[str, list[dict[str, Any]]], names: list[str]) -> str:
    from botcopier.streams.model_registry import shipped_stack

    return "; ".join(f"{n}: {' > '.join(shipped_stack(groups[n]))}" for n in names)


def _promote(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.exceptions import BotCopierError
    from botcopier.streams.model_registry import (
        RegistryError,
        best_version,
        by_name,
        records_of,
        republished,
        versions_of,
    )

    if bool(args.name) == bool(args.all):
        raise BotCopierError("models promote: give a model NAME or --all, not both or neither")
    groups = by_name(_read_models(settings))
    names = sorted(groups) if args.all else [args.name]
    if not names:
        raise RegistryError(f"no models on {settings.topic('models')}")
    chosen, skipped = [], []
    for name in names:
        mine = records_of(groups, name)
        try:
            best = best_version(versions_of(mine)[name], args.metric)
        except RegistryError as exc:
            if not args.all:
                raise
            skipped.append(name)
            _say(f"{name}: skipped, {exc}")
            continue
        score = f"{args.metric}={best.metrics[args.metric]:.4f}"
        if best.version == mine[-1]["model_version"]:
            _say(f"{name}: {best.version} ({score}) is already current; nothing published")
            continue
        chosen.append(republished(best.record, "promote"))
        _say(f"{name}: promoting {best.version} ({score}) over {mine[-1]['model_version']}")
    if skipped and len(skipped) == len(names):
        raise RegistryError(f"no model has metric {args.metric!r}")
    _send(settings, chosen)
    _say(f"{len(chosen)} promoted on {settings.topic('models')}")
    return 0


def _rollback(settings: Settings, args: argparse.Namespace) -> int:
    from botcopier.streams.model_registry import (
        by_name,
        records_of,
        republished,
        rollback_target,
        versions_of,
    )

    mine = records_of(by_name(_read_models(settings)), args.name)
    target = rollback_target(mine)
    version = next(v for v in versions_of(mine)[args.name] if v.version == target)
    _send(settings, [republished(version.record, "rollback")])
    _say(f"{args.name}: rolled back from {mine[-1]['model_version']} to {target}")
    return 0


def _cmd_models(settings: Settings, args: argparse.Namespace) -> int:
    return {"list": _list, "promote": _promote, "rollback": _rollback}[args.action](settings, args)


def add_command(commands: Any) -> None:
    publish = commands.add_parser(
        "publish",
        help="put a model.json on the models topic",
        description="Validates MODEL.json and publishes it as a ModelPublished record keyed "
        "by its name; `botcopier filesync` then ships it to MT4.",
    )
    publish.add_argument("model", type=Path, metavar="MODEL.json")
    publish.add_argument("--name", help="publish under this model name instead of the file's")
    publish.set_defaults(handler=_cmd_publish)

    models = commands.add_parser(
        "models",
        help="list model versions; promote or roll back which one ships",
        description="Reads every version still on the (compacted) models topic. promote and "
        "rollback republish an existing version as the newest record, so file-sync ships it.",
    )
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="each model's versions, newest first")
    listing.add_argument("name", nargs="?", help="only this model")
    promote = actions.add_parser("promote", help="ship the best version by a metric")
    promote.add_argument("name", nargs="?", help="the model (or --all)")
    promote.add_argument("--all", action="store_true", help="every model on the topic")
    promote.add_argument(
        "--metric", required=True, help="a key of the records' metrics, e.g. test_entry_macro_f1"
    )
    rollback = actions.add_parser("rollback", help="ship the version current before this one")
    rollback.add_argument("name")
    models.set_defaults(handler=_cmd_models)
