"""`botcopier filesync`: models from the ``models`` topic into MT4 ``MQL4/Files`` folders.

Each ModelPublished record is checked before anything is written: its names must be safe
file names (`model_files.check_file_part`), its ``sha256`` must be the SHA-256 of its
``model_json``, and the document must be a valid model.json of the record's name and
version. A refused record is reported and counted, and nothing of it reaches the disk.

On every start the whole compacted topic is read again up to its end (it holds a few
versions per model): that rebuilds each model's version history, which keep-N pruning
needs, and brings a newly configured folder, or one whose files were deleted, up to date.
Files that already hold the right bytes are not touched, so a restart rewrites nothing.
Offsets are committed in the consumer group ``<prefix>filesync`` after each batch is on
disk, so the group's lag says how far behind the folders are. After catching up the
service follows the topic until SIGTERM or SIGINT; ``--once`` stops after catching up.

Partitions are assigned, not subscribed: every file-sync must see every model, and two
processes writing one folder write the same bytes atomically.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry, Counter, Gauge

from botcopier import telemetry
from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.service_http import ServiceEndpoints
from botcopier.streams import model_files
from botcopier.streams.clients import consumer_config
from botcopier.trace_context import links_to
from botcopier.trainers.model_document import ModelFormatError, parse_model
from botcopier.trainers.publishing import sha256_hex

log = logging.getLogger("botcopier.filesync")
Say = Callable[[str], None]
_COORDINATOR_ATTEMPTS = 40  # 0.5 s apart
_COORDINATOR_PENDING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError._TIMED_OUT,  # noqa: SLF001 - librdkafka's public name for a local timeout
    KafkaError._TRANSPORT,  # noqa: SLF001 - the broker connection dropped
}


class FileSyncError(BotCopierError):
    """The file-sync cannot run: a missing folder or topic."""


class RefusedRecordError(BotCopierError):
    """A model record that must not be written; ``reason`` labels the metric."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FileSyncMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.written = Counter(
            "botcopier_filesync_files_written",
            "Model files written (current and versioned copies)",
            registry=self.registry,
        )
        self.unchanged = Counter(
            "botcopier_filesync_files_unchanged",
            "Model files already on disk with the same bytes, left alone",
            registry=self.registry,
        )
        self.pruned = Counter(
            "botcopier_filesync_files_pruned",
            "Versioned copies deleted beyond keep_versions",
            registry=self.registry,
        )
        self.refused = Counter(
            "botcopier_filesync_records_refused",
            "Model records refused, by reason; nothing of them was written",
            ["reason"],
            registry=self.registry,
        )
        self.current = Gauge(
            "botcopier_filesync_current_version",
            "1 for the version of each model now in the folders",
            ["model", "version"],
            registry=self.registry,
        )


def checked_record(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` if it may be written, else `RefusedRecordError` saying why."""
    name, version = record["model_name"], record["model_version"]
    try:
        model_files.check_file_part(name, "model name")
        model_files.check_file_part(version, "model version")
    except model_files.UnsafeNameError as exc:
        raise RefusedRecordError("unsafe_name", str(exc)) from exc
    actual = sha256_hex(record["model_json"])
    if actual != record["sha256"]:
        raise RefusedRecordError(
            "sha256_mismatch",
            f"{name} {version}: model_json has SHA-256 {actual[:12]}…, the record says "
            f"{record['sha256'][:12]}…",
        )
    try:
        doc = parse_model(record["model_json"], f"{name} {version}")
    except ModelFormatError as exc:
        raise RefusedRecordError("invalid_model", str(exc)) from exc
    if (doc["name"], doc["version"]) != (name, version):
        raise RefusedRecordError(
            "mismatch",
            f"record {name} {version} carries the document of {doc['name']} {doc['version']}",
        )
    return record


class FileSync:
    """Applies batches of model records to the folders; no Kafka in here."""

    def __init__(self, files_dirs: list[Path], keep: int, say: Say = log.info) -> None:
        self.files_dirs, self.keep, self.say = files_dirs, keep, say
        self.metrics = FileSyncMetrics()
        # Per model: versions by latest publication, oldest first (a promoted old version
        # moves to the end, so keep-N keeps it).
        self.history: dict[str, list[str]] = {}
        self.current: dict[str, dict[str, Any]] = {}
        self.caught_up = False

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "caught_up": self.caught_up,
            "models": {name: r["model_version"] for name, r in sorted(self.current.items())},
            "files_dirs": [str(d) for d in self.files_dirs],
        }

    def apply(self, records: list[dict[str, Any]]) -> None:
        """Write what ``records`` (oldest first) leave current, then prune per model."""
        touched: dict[str, dict[str, dict[str, Any]]] = {}
        for record in records:
            try:
                checked_record(record)
            except RefusedRecordError as exc:
                self.metrics.refused.labels(reason=exc.reason).inc()
                self.say(f"filesync: REFUSED ({exc.reason}): {exc}")
                continue
            name, version = record["model_name"], record["model_version"]
            versions = self.history.setdefault(name, [])
            if version in versions:
                versions.remove(version)
            versions.append(version)
            self.current[name] = record
            touched.setdefault(name, {})[version] = record
        for name, by_version in touched.items():
            self._ship(name, by_version)

    def _ship(self, name: str, by_version: dict[str, dict[str, Any]]) -> None:
        current = self.current[name]
        kept = self.history[name][-self.keep :] if self.keep else []
        for folder in self.files_dirs:
            # Versioned copies first: once the current file changes, its copy is there too.
            for version, record in by_version.items():
                if version in kept:
                    self._put(folder, model_files.versioned_file_name(name, version), record)
            result = self._put(folder, model_files.current_file_name(name), current)
            removed = model_files.prune_versions(folder, name, self.history[name], self.keep)
            self.metrics.pruned.inc(len(removed))
            state = "written" if result.written else "unchanged"
            self.say(
                f"filesync: {name} {current['model_version']} -> {result.path} ({state}"
                + (f", {len(removed)} old versions pruned)" if removed else ")")
            )
        for stale in [v for v in self.history[name] if v != current["model_version"]]:
            try:
                self.metrics.current.remove(name, stale)
            except KeyError:
                pass
        self.metrics.current.labels(model=name, version=current["model_version"]).set(1)

    def _put(self, folder: Path, file_name: str, record: dict[str, Any]) -> model_files.WriteResult:
        try:
            result = model_files.put_file(folder, file_name, record["model_json"].encode("utf-8"))
        except OSError as exc:
            raise FileSyncError(f"cannot write {folder / file_name}: {exc}") from exc
        (self.metrics.written if result.written else self.metrics.unchanged).inc()
        return result


def files_dirs_of(settings: Settings, extra: list[Path]) -> list[Path]:
    """The configured folders plus ``extra``; the default folder when there are none."""
    given = [*settings.filesync.files_dirs, *extra]
    if not given:
        default = settings.paths.files_dir()
        default.mkdir(parents=True, exist_ok=True)
        given = [default]
    folders = list(dict.fromkeys(Path(d).expanduser().resolve() for d in given))
    for folder in folders:
        # A typo must not quietly create a folder no terminal reads.
        if not folder.is_dir():
            raise FileSyncError(f"{folder} is not a folder (it should be an MT4 MQL4/Files)")
    return folders


class ModelsFollower:
    """Reads ``models`` for a `FileSync`: first to the end, then as records arrive."""

    def __init__(self, settings: Settings, sync: FileSync, say: Say) -> None:
        self.settings, self.sync, self.say = settings, sync, say
        self.topic = settings.topic("models")
        self.codec = ValueCodec.from_settings(settings)
        self.group = f"{settings.kafka.topic_prefix}filesync"
        self.consumer = Consumer(consumer_config(settings, group_id=self.group))
        self.tracer = telemetry.tracer("filesync")

    def _apply(self, messages: list) -> None:
        """Decode and apply a batch: one ``filesync.apply`` span, linked to the publishers'."""
        records, received = self._decode(messages)
        links = links_to(received) if telemetry.exporting() else ()
        span = telemetry.start_span(self.tracer, "filesync.apply", kind=SpanKind.CONSUMER,
                                    links=links)  # fmt: skip
        with trace.use_span(span, end_on_exit=True):
            span.set_attribute("botcopier.records", len(records))
            self.sync.apply(records)

    def _decode(self, messages: list) -> tuple[list[dict[str, Any]], list[tuple[Any, dict]]]:
        """The records, and (headers, record) of each for tracing."""
        records, received = [], []
        for message in messages:
            if message.error():
                self.say(f"filesync: consumer error: {message.error()}")
                continue
            try:
                record = self.codec.decode(message.value(), topic=self.topic).record
            except DecodeError as exc:
                self.sync.metrics.refused.labels(reason="undecodable").inc()
                self.say(f"filesync: REFUSED (undecodable) offset {message.offset()}: {exc}")
                continue
            records.append(record)
            received.append((message.headers(), record))
        return records, received

    def catch_up(self, stop: threading.Event) -> int:
        """Read from the beginning to the end offsets of now and apply; records read."""
        metadata = self.consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
        if metadata is None or metadata.error is not None:
            raise FileSyncError(f"topic {self.topic} does not exist (botcopier topics create)")
        partitions = [TopicPartition(self.topic, p) for p in metadata.partitions]
        committed = self._retrying("read committed offsets", self.consumer.committed, partitions)
        resumed = {tp.partition: tp.offset for tp in committed or () if tp.offset >= 0}
        ends = {
            tp.partition: self.consumer.get_watermark_offsets(tp, timeout=10)[1]
            for tp in partitions
        }
        self.say(
            f"filesync: reading {self.topic} to offsets {ends} "
            + (f"(committed before: {resumed})" if resumed else "(first start)")
        )
        self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in ends])
        pending = {p for p, end in ends.items() if end > 0}
        messages: list = []
        while pending:
            if stop.is_set():
                return len(messages)  # a partial history would prune by it: apply nothing
            batch = self.consumer.consume(num_messages=500, timeout=1.0)
            messages.extend(batch)
            for tp in self.consumer.position([TopicPartition(self.topic, p) for p in pending]):
                if tp.offset >= ends[tp.partition]:
                    pending.discard(tp.partition)
        # One batch: each model's final state is known before writing, so versions that
        # keep-N would delete again are never written.
        self._apply(messages)
        self._commit(messages)
        self.sync.caught_up = True
        return len(messages)

    def follow(self, stop: threading.Event) -> None:
        while not stop.is_set():
            batch = self.consumer.consume(num_messages=100, timeout=0.5)
            if batch:
                self._apply(batch)
                self._commit(batch)

    def _commit(self, messages: list) -> None:
        # Refused records are committed too: reading them again cannot make them valid.
        offsets = {m.partition(): m.offset() + 1 for m in messages if not m.error()}
        if offsets:
            self._retrying(
                "commit offsets",
                self.consumer.commit,
                offsets=[TopicPartition(self.topic, p, o) for p, o in offsets.items()],
                asynchronous=False,
            )

    def _retrying(self, what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``call`` retried while the group coordinator is still being found (a new group
        or a restarted broker); None if it never answers. The files do not depend on it:
        committed offsets only mark progress, and every start re-reads the topic."""
        for attempt in range(_COORDINATOR_ATTEMPTS):
            try:
                return call(*args, **kwargs)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                retriable = isinstance(error, KafkaError) and (
                    error.retriable() or error.code() in _COORDINATOR_PENDING
                )
                if not retriable or attempt == _COORDINATOR_ATTEMPTS - 1:
                    self.say(f"filesync: could not {what}: {exc}")
                    return None
                time.sleep(0.5)
        return None

    def close(self) -> None:
        self.consumer.close()


def serve(
    settings: Settings,
    sync: FileSync,
    say: Say,
    *,
    once: bool = False,
    metrics_port: int = 0,
    stop: threading.Event | None = None,
) -> int:
    """Catch up, then (unless ``once``) follow the topic until ``stop`` is set."""
    stop = stop or threading.Event()
    endpoints = None
    if metrics_port:
        endpoints = ServiceEndpoints(sync.metrics.registry, sync.health)
        endpoints.start("127.0.0.1", metrics_port)
        say(f"filesync: /healthz and /metrics on 127.0.0.1:{endpoints.port}")
    follower = ModelsFollower(settings, sync, say)
    try:
        read = follower.catch_up(stop)
        if sync.caught_up:
            say(f"filesync: caught up ({read} records, {len(sync.current)} models)")
        if not once:
            follower.follow(stop)
            say("filesync: stopped")
    finally:
        follower.close()
        if endpoints is not None:
            endpoints.stop()
    return 0


def run_filesync(
    settings: Settings,
    say: Say,
    *,
    extra_dirs: list[Path] = (),
    keep: int | None = None,
    once: bool = False,
    metrics_port: int | None = None,
) -> int:
    folders = files_dirs_of(settings, list(extra_dirs))
    keep = settings.filesync.keep_versions if keep is None else keep
    if keep < 0:
        raise FileSyncError(f"--keep must be 0 or more, not {keep}")
    for folder in folders:
        for leftover in model_files.remove_leftover_temporaries(folder):
            say(f"filesync: removed {leftover.name}, left by an interrupted write")
    say(f"filesync: writing into {', '.join(map(str, folders))}; keeping {keep} versions each")
    stop = threading.Event()
    previous = {}
    if not once:
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    port = settings.filesync.metrics_port if metrics_port is None else metrics_port
    sync = FileSync(folders, keep, say)
    try:
        return serve(settings, sync, say, once=once, metrics_port=port, stop=stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
