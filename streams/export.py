"""`botcopier export`: trades, metrics and models of a time range as a Parquet bundle.

A bundle is a folder with one Parquet file per table and a ``manifest.json``:

=============== ================ ==========================================
table           topic            rows
=============== ================ ==========================================
``trades``      trade-events     TradeEvent records
``bot_metrics`` bot-metrics      BotMetrics (the agents' rolling metrics)
``ea_metrics``  ea-metrics       MetricSnapshot (the EAs' own snapshots)
``models``      models           ModelPublished (model.json text included)
=============== ================ ==========================================

A record belongs to the range when its ``event_time_ms`` (event time, what the EA or the
agent stamped, not when Kafka received it: imported history keeps its dates) is in
``[since, until)``. Each topic is read from the beginning to the end offsets found when the
export starts, so the bundle is a consistent cut whatever arrives meanwhile; those offsets
are in the manifest. A record is kept once per ``event_id`` (the EA link is at-least-once).
Columns follow the current Avro schema (older records are resolved to it), enums as text,
plus ``kafka_partition``, ``kafka_offset`` and ``kafka_timestamp_ms``.

The bundle is written into ``<out>.partial`` and renamed when complete: a folder named
``<out>`` is always a whole bundle.

Examples
--------
>>> parse_time("2025-01-02")
1735776000000
>>> parse_time("2025-01-02T03:04:05+01:00"), parse_time("1735776000000")
(1735783445000, 1735776000000)
>>> arrow_schema("BotMetrics").field("profit_factor")
pyarrow.Field<profit_factor: double>
>>> check_range(2, 1)
Traceback (most recent call last):
...
botcopier.streams.export.ExportError: --since (1970-01-01T00:00:00.002Z) must be before \
--until (1970-01-01T00:00:00.001Z)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from botcopier import __version__
from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.schemas.catalogue import SchemaCatalogue
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.clients import consumer_config
from botcopier.streams.topics import topic as topic_spec

MANIFEST = "manifest.json"
FORMAT = "botcopier.export"
FORMAT_VERSION = 1
# table → (catalogue topic, Avro record)
TABLES: dict[str, tuple[str, str]] = {
    "trades": ("trade-events", "TradeEvent"),
    "bot_metrics": ("bot-metrics", "BotMetrics"),
    "ea_metrics": ("ea-metrics", "MetricSnapshot"),
    "models": ("models", "ModelPublished"),
}
KAFKA_COLUMNS = (
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("kafka_timestamp_ms", pa.int64()),
)
_BATCH_ROWS = 20_000
_PRIMITIVES = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "bytes": pa.binary(),
}

Say = Callable[[str], None]


class ExportError(BotCopierError):
    """The range is not valid, the output folder is taken, or a topic cannot be read."""


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 date or time (UTC unless it says otherwise), or of
    a number of milliseconds since the epoch."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ExportError(
            f"cannot read the time {text!r}: use an ISO date or time such as 2025-01-31 or "
            "2025-01-31T18:00:00Z, or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def check_range(since_ms: int, until_ms: int, now_ms: int | None = None) -> None:
    """Refuse an empty or reversed range, and one that starts in the future."""
    if since_ms >= until_ms:
        raise ExportError(f"--since ({_iso(since_ms)}) must be before --until ({_iso(until_ms)})")
    now_ms = round(time.time() * 1000) if now_ms is None else now_ms
    if since_ms > now_ms:
        raise ExportError(f"--since ({_iso(since_ms)}) is in the future: nothing to export")


def _arrow_type(avro: Any) -> tuple[pa.DataType, bool]:
    """(Arrow type, nullable) of an Avro field type."""
    if isinstance(avro, list):
        branches = [branch for branch in avro if branch != "null"]
        if len(branches) != 1:
            raise ExportError(f"cannot map the Avro union {avro} to one column type")
        return _arrow_type(branches[0])[0], "null" in avro
    if isinstance(avro, dict):
        kind = avro["type"]
        if kind == "enum":
            return pa.string(), False
        if kind == "map":
            return pa.map_(pa.string(), _arrow_type(avro["values"])[0]), False
        if kind == "array":
            return pa.list_(_arrow_type(avro["items"])[0]), False
        return _arrow_type(kind)
    if avro in _PRIMITIVES:
        return _PRIMITIVES[avro], False
    raise ExportError(f"cannot map the Avro type {avro!r} to a column type")


def arrow_schema(record_name: str) -> pa.Schema:
    """The Parquet columns of a table: the record's current Avro fields, then Kafka's."""
    definition = SchemaCatalogue.default().current(record_name).definition
    fields = []
    for avro_field in definition["fields"]:
        kind, nullable = _arrow_type(avro_field["type"])
        fields.append(pa.field(avro_field["name"], kind, nullable=nullable))
    return pa.schema([*fields, *KAFKA_COLUMNS])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class TableExport:
    table: str
    topic: str
    rows: int = 0
    read: int = 0
    duplicates: int = 0
    undecodable: int = 0
    end_offsets: dict[str, int] | None = None


def _end_offsets(consumer: Consumer, topic: str) -> dict[int, int]:
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise ExportError(f"topic {topic} does not exist (run `botcopier topics create`)")
    ends = {}
    for partition in metadata.partitions:
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
        ends[partition] = high
    return ends


def _export_table(
    settings: Settings,
    table: str,
    since_ms: int,
    until_ms: int,
    path: Path,
    say: Say,
) -> TableExport:
    name, record_name = TABLES[table]
    topic = topic_spec(name).full_name(settings.kafka.topic_prefix)
    schema = arrow_schema(record_name)
    columns = [f.name for f in schema]
    codec = ValueCodec.from_settings(settings)
    result = TableExport(table, topic)
    consumer = Consumer(consumer_config(settings, group_id=f"botcopier-export-{uuid.uuid4().hex}"))
    writer = pq.ParquetWriter(path, schema, compression="zstd")
    seen: set[str] = set()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            batch.clear()

    try:
        ends = _end_offsets(consumer, topic)
        result.end_offsets = {str(p): end for p, end in sorted(ends.items())}
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        while pending:
            for msg in consumer.consume(num_messages=5_000, timeout=1.0):
                partition = msg.partition()
                if msg.error() or partition not in pending or msg.offset() >= ends[partition]:
                    continue
                if msg.offset() >= ends[partition] - 1:
                    pending.discard(partition)
                result.read += 1
                if result.read % 100_000 == 0:
                    say(f"{name}: {result.read} records read, {result.rows} in range")
                if msg.value() is None:
                    continue  # a tombstone deletes a key of a compacted topic: no record
                try:
                    record = codec.decode(msg.value(), topic=topic, schema_name=record_name).record
                except DecodeError:
                    result.undecodable += 1  # the bridge dead-letters bad input already
                    continue
                if not since_ms <= record["event_time_ms"] < until_ms:
                    continue
                if record["event_id"] in seen:
                    result.duplicates += 1
                    continue
                seen.add(record["event_id"])
                _kind, timestamp_ms = msg.timestamp()
                row = {column: record.get(column) for column in columns}
                row.update(
                    kafka_partition=partition,
                    kafka_offset=msg.offset(),
                    kafka_timestamp_ms=timestamp_ms if timestamp_ms >= 0 else None,
                )
                batch.append(row)
                result.rows += 1
                if len(batch) >= _BATCH_ROWS:
                    flush()
        flush()
    finally:
        writer.close()
        consumer.close()
    say(
        f"{name}: {result.read} records read, {result.rows} in range -> {path.name}"
        + (f" ({result.duplicates} duplicates dropped)" if result.duplicates else "")
        + (f" ({result.undecodable} undecodable skipped)" if result.undecodable else "")
    )
    return result


def default_out(settings: Settings, since_ms: int, until_ms: int) -> Path:
    def stamp(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%SZ")

    return settings.paths.state_dir / "exports" / f"export-{stamp(since_ms)}-{stamp(until_ms)}"


def export_bundle(
    settings: Settings,
    since_ms: int,
    until_ms: int,
    out: Path | None = None,
    say: Say = lambda line: None,
) -> dict[str, Any]:
    """Write the bundle of ``[since_ms, until_ms)`` into ``out``; returns its manifest."""
    check_range(since_ms, until_ms)
    out = Path(out or default_out(settings, since_ms, until_ms))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty folder")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # what an interrupted export left
    partial.mkdir(parents=True)
    say(f"exporting {_iso(since_ms)} .. {_iso(until_ms)} from {settings.bootstrap_servers()}")
    tables = {}
    try:
        for table in TABLES:
            file = partial / f"{table}.parquet"
            result = _export_table(settings, table, since_ms, until_ms, file, say)
            tables[table] = {
                "file": file.name,
                "topic": result.topic,
                "rows": result.rows,
                "bytes": file.stat().st_size,
                "sha256": sha256_of(file),
                "end_offsets": result.end_offsets,
                "records_read": result.read,
                "duplicates_dropped": result.duplicates,
                "undecodable_skipped": result.undecodable,
            }
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "botcopier_version": __version__,
            "created": _iso(round(time.time() * 1000)),
            "since_ms": since_ms,
            "until_ms": until_ms,
            "since": _iso(since_ms),
            "until": _iso(until_ms),
            "time_field": "event_time_ms",
            "bootstrap_servers": settings.bootstrap_servers(),
            "tables": tables,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    rows = ", ".join(f"{t['rows']} {name}" for name, t in tables.items())
    say(f"wrote {out}: {rows}")
    return manifest


def verify_bundle(folder: Path) -> dict[str, Any]:
    """The manifest of ``folder``, after checking each file's size and SHA-256 against it."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"{folder} holds no readable {MANIFEST}: {exc}") from exc
    for table, entry in manifest["tables"].items():
        path = folder / entry["file"]
        if not path.is_file() or sha256_of(path) != entry["sha256"]:
            raise ExportError(f"{path} does not match the manifest (table {table})")
    return manifest
