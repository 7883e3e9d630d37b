"""A history's training table, computed once and reused until something it depends on changes.

`cached_dataset` is `build_dataset` behind a file cache (``<state_dir>/feature-cache/``). A
file is named by a SHA-256 over everything the table depends on:

- the feature spec: each feature's name, MQL4 expression and warm-up, in order;
- the code that computes the table (the features, indicators, labels and dataset modules), so
  a corrected indicator never serves numbers computed before the correction;
- the bars: their time, timeframe, OHLC, spread and tick-volume arrays, in time order;
- the events: of each, in order, its id and time and every field the labeller reads.

A hit loads the table instead of computing it; a miss computes it and stores it (temporary
file, then rename: a concurrent reader never sees half a file). A file that does not read back
as the table it should hold (truncated, not a zip, another key, shapes that disagree) is
reported, deleted and recomputed: it never crashes a training and is never used. The newest
``max_files`` files are kept.

Files are NumPy ``.npz`` (read with ``allow_pickle=False``): pyarrow, for Parquet, is not
among the project's dependencies, and the table is one float matrix and three small columns.

Examples
--------
>>> import dataclasses, tempfile
>>> from botcopier.bridge.simulator.market import random_walk_bars
>>> bars = pd.DataFrame(map(dataclasses.asdict, random_walk_bars("EURUSD", start_ms=0, count=600)))
>>> events = [{"event_id": "e1", "event_time_ms": 3_600_000 * 400, "action": "OPEN",
...            "order_type": "BUY", "ticket": 1, "lots": 0.1}]
>>> folder = Path(tempfile.mkdtemp())
>>> said = []
>>> first = cached_dataset(bars, events, cache_dir=folder, progress=said.append)
>>> again = cached_dataset(bars, events, cache_dir=folder, progress=said.append)
>>> [line.split(":")[0] for line in said]
['feature cache miss', 'feature cache hit']
>>> again.features.equals(first.features) and again.labels.equals(first.labels)
True
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from botcopier.trainers import dataset, features, indicators, labels
from botcopier.trainers.dataset import Dataset, NotEnoughDataError, build_dataset
from botcopier.trainers.features import DEFAULT_FEATURES, Feature, warmup
from botcopier.trainers.labels import LABELS

CACHE_FORMAT = 1  # bump when the file layout changes
_BAR_COLUMNS = (
    ("time_ms", np.int64),
    ("timeframe_minutes", np.int64),
    ("open", np.float64),
    ("high", np.float64),
    ("low", np.float64),
    ("close", np.float64),
    ("spread_points", np.float64),
    ("tick_volume", np.float64),
)
# What label_bars reads of an event (plus its id): any change to one changes the labels.
_EVENT_FIELDS = (
    "event_id event_time_ms action order_type ticket parent_ticket lots remaining_lots "
    "close_price sl tp comment"
).split()
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, IndexError, zipfile.BadZipFile)


def dataset_key(
    bars: pd.DataFrame,
    events: Sequence[Mapping[str, Any]],
    feature_set: tuple[Feature, ...] = DEFAULT_FEATURES,
) -> str:
    """Hex SHA-256 naming the table ``build_dataset(bars, events, feature_set)`` makes."""
    digest = hashlib.sha256(f"botcopier.feature-cache {CACHE_FORMAT}\n".encode())
    spec = [[f.name, f.mql4, f.warmup] for f in feature_set]
    digest.update(json.dumps(spec).encode())
    for module in (features, indicators, labels, dataset):
        digest.update(Path(module.__file__).read_bytes())
    ordered = bars.sort_values("time_ms", kind="stable")
    for column, dtype in _BAR_COLUMNS:
        if column in ordered.columns:
            digest.update(column.encode())
            digest.update(np.ascontiguousarray(ordered[column].to_numpy(dtype)).tobytes())
    digest.update(f"events {len(events)}\n".encode())
    for event in events:
        fields = [event.get(name) for name in _EVENT_FIELDS]
        digest.update(json.dumps(fields, default=str).encode() + b"\n")
    return digest.hexdigest()


def _store(path: Path, key: str, data: Dataset) -> None:
    codes = pd.Index(LABELS).get_indexer(data.labels).astype(np.int8)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(
                out,
                key=np.array(key),
                columns=np.array(list(data.features.columns)),
                features=data.features.to_numpy(np.float64),
                labels=codes,
                label_names=np.array(LABELS),
                time_ms=data.time_ms.to_numpy(np.int64),
            )
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path, key: str, names: list[str]) -> Dataset:
    """The table stored at ``path``; ValueError (or a reading error) if it is not the one."""
    with np.load(path, allow_pickle=False) as stored:
        if stored["key"].item() != key:
            raise ValueError("it holds another history's table")
        columns = stored["columns"].tolist()
        matrix, codes, times = stored["features"], stored["labels"], stored["time_ms"]
        label_names = stored["label_names"].tolist()
    if columns != names:
        raise ValueError(f"its columns {columns} are not the features {names}")
    if matrix.shape != (len(times), len(names)) or codes.shape != times.shape:
        raise ValueError(f"shapes disagree: {matrix.shape}, {codes.shape}, {times.shape}")
    if len(codes) and not (0 <= codes.min() and codes.max() < len(label_names)):
        raise ValueError("label codes out of range")
    return Dataset(
        pd.DataFrame(matrix, columns=names),
        pd.Series(np.array(label_names, dtype=object)[codes], name="label"),
        pd.Series(times, name="time_ms"),
    )


def _evict(folder: Path, keep: int) -> None:
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)


def cached_dataset(
    bars: pd.DataFrame,
    events: Sequence[Mapping[str, Any]],
    feature_set: tuple[Feature, ...] = DEFAULT_FEATURES,
    *,
    cache_dir: Path,
    min_rows: int = 200,
    max_files: int = 16,
    progress: Callable[[str], None] = lambda line: None,
) -> Dataset:
    """`build_dataset`, served from ``cache_dir`` when the same table was built before."""
    key = dataset_key(bars, events, feature_set)
    names = [f.name for f in feature_set]
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{key}.npz"
    if path.exists():
        try:
            data = _load(path, key, names)
        except _UNREADABLE as exc:
            progress(f"feature cache file {path} is corrupt ({exc}): deleted, recomputing")
            path.unlink(missing_ok=True)
        else:
            progress(f"feature cache hit: {path.name} ({len(data)} rows)")
            os.utime(path)  # recently used: evicted last
            if len(data) < min_rows:
                raise NotEnoughDataError(
                    f"{len(data)} usable bars after a warm-up of {warmup(feature_set)}; "
                    f"at least {min_rows} are needed"
                )
            return data
    data = build_dataset(bars, events, feature_set, min_rows=min_rows)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _store(path, key, data)
    progress(f"feature cache miss: computed {len(data)} rows, stored {path.name}")
    _evict(cache_dir, max_files)
    return data
