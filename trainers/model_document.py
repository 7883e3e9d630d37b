"""model.json: check, version, save and load the one document a clone is.

The format is `schemas/model.schema.json` (JSON Schema 2020-12, each field documented
there). On top of the schema, `validate_model` checks what a schema cannot: shapes agree
(a scaler entry and a coefficient column per feature, a row per class, LightGBM's class
count), thresholds name the model's classes. Loading refuses unknown format versions by
name before anything else, so a newer file fails clearly rather than half-working. Saving
writes a temporary file, syncs it and renames it over the target: a reader never sees half
a model.

Examples
--------
>>> distributions = feature_distributions({"x": np.arange(100.0)}, bins=4)
>>> distributions["x"]
{'edges': [24.75, 49.5, 74.25], 'fractions': [0.25, 0.25, 0.25, 0.25]}
>>> validate_model({"format": "botcopier.model", "format_version": 2})
Traceback (most recent call last):
...
botcopier.trainers.model_document.ModelFormatError: model.json format_version 2 is not one \
this botcopier reads (1)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator

from botcopier.atomic_file import write_atomic
from botcopier.exceptions import BotCopierError

FORMAT = "botcopier.model"
FORMAT_VERSION = 1


class ModelFormatError(BotCopierError):
    """A model.json that is not valid: unreadable, of an unknown version, or inconsistent."""


@cache
def model_schema() -> dict[str, Any]:
    text = resources.files("botcopier.schemas").joinpath("model.schema.json").read_text("utf-8")
    return json.loads(text)


def _shape_problems(doc: Mapping[str, Any]) -> list[str]:
    problems = []
    n_features, n_classes = len(doc["features"]), len(doc["classes"])
    for part in ("mean", "scale"):
        if len(doc["scaler"][part]) != n_features:
            problems.append(f"scaler.{part} has {len(doc['scaler'][part])} values for "
                            f"{n_features} features")  # fmt: skip
    estimator = doc["estimator"]
    family = estimator["family"]
    if family == "linear":
        rows = estimator["coefficients"]
        if len(rows) != n_classes or len(estimator["intercepts"]) != n_classes:
            problems.append(f"linear estimator needs {n_classes} coefficient rows and intercepts")
        if any(len(row) != n_features for row in rows):
            problems.append(f"every coefficient row needs {n_features} values")
    elif estimator["num_class"] != n_classes:
        problems.append(f"{family} num_class {estimator['num_class']} != {n_classes} classes")
    elif len(estimator["dump"]["tree_info"]) % n_classes:
        problems.append(f"{family} tree count is not a multiple of the class count")
    elif len(estimator.get("intercepts", [0.0] * n_classes)) != n_classes:
        problems.append(f"{family} needs {n_classes} intercepts")
    unknown = set(doc["thresholds"]) - set(doc["classes"])
    if unknown:
        problems.append(f"thresholds for classes the model lacks: {sorted(unknown)}")
    names = [feature["name"] for feature in doc["features"]]
    if len(set(names)) != len(names):
        problems.append("feature names repeat")
    return problems


def validate_model(doc: Any) -> dict[str, Any]:
    """``doc`` if it is a valid model.json document, else `ModelFormatError` saying why."""
    if not isinstance(doc, Mapping):
        raise ModelFormatError("model.json must be a JSON object")
    if doc.get("format") != FORMAT:
        raise ModelFormatError(f"not a BotCopier model (format {doc.get('format')!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"model.json format_version {doc.get('format_version')} is not one this botcopier "
            f"reads ({FORMAT_VERSION})"
        )
    errors = sorted(
        Draft202012Validator(model_schema()).iter_errors(doc), key=lambda e: list(e.path)
    )
    if errors:
        shown = [f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message[:200]}" for e in errors]
        raise ModelFormatError("invalid model.json: " + "; ".join(shown[:5]))
    problems = _shape_problems(doc)
    if problems:
        raise ModelFormatError("inconsistent model.json: " + "; ".join(problems))
    return dict(doc)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a double")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_model(text: str | bytes, source: str = "model.json") -> dict[str, Any]:
    """A model.json document from its text, validated; `ModelFormatError` otherwise.

    Strict JSON only: ``NaN``, ``Infinity`` and numbers beyond a double are refused (they
    would reach an EA's arithmetic), and so is nesting too deep for the parser. Nothing
    but JSON is ever decoded: a pickle or any other format is refused as "not JSON".
    """
    try:
        doc = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the two above
        raise ModelFormatError(f"{source} is not JSON: {exc}") from exc
    except RecursionError:
        raise ModelFormatError(f"{source} is nested too deeply to be a model") from None
    try:
        return validate_model(doc)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{source}: {exc}") from exc


def load_model(path: Path) -> dict[str, Any]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_model(data, str(path))


def dumps_model(doc: Mapping[str, Any]) -> str:
    """Canonical text: sorted keys, so equal models have equal bytes and checksums."""
    return json.dumps(validate_model(doc), sort_keys=True, allow_nan=False, separators=(",", ":"))


def save_model(doc: Mapping[str, Any], path: Path) -> Path:
    """Write atomically (temporary file, fsync, rename), readable by all; returns ``path``."""
    return write_atomic(Path(path), dumps_model(doc))


def model_version(created_ms: int, content: Mapping[str, Any]) -> str:
    """``yyyymmddThhmmssZ-<8 hex>``: sortable by training time, distinct by content."""
    stamp = datetime.fromtimestamp(created_ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]
    return f"{stamp}-{digest}"


def feature_distributions(
    columns: Mapping[str, np.ndarray], bins: int = 10
) -> dict[str, dict[str, list[float]]]:
    """Inner quantile edges and training fractions per feature, for PSI drift checks."""
    out = {}
    for name, values in columns.items():
        values = np.asarray(values, dtype=float)
        inner = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
        edges = sorted({float(edge) for edge in inner})
        # Right-closed like streams.drift.bin_index: a value equal to an edge goes above it.
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
        out[name] = {"edges": edges, "fractions": (counts / len(values)).tolist()}
    return out
