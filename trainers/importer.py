r"""`botcopier import`: the seed project's logs and MT4 history CSVs into Kafka.

``botcopier import KIND FILE…`` reads ``trades_raw.csv`` (TradeEvent on ``trade-events``,
keyed ``account:magic``), ``metrics.csv`` (MetricSnapshot on ``ea-metrics``), bar CSVs
(Bar) and tick CSVs (Tick, both on ``market-data`` keyed by symbol); KIND ``auto`` tells
them apart by their header. Which column sets and derivations: `seed_logs`, `seed_market`.

Two passes. The first reads every file and checks every row: columns present, numbers and
times readable, action and order type known, and the record encodes with its Avro schema.
Each bad row is a `RowProblem` with its line number; a file whose header lacks a required
column fails whole. Only then does the second pass read the files again (up to the lines
the first one saw, should an EA still be appending) and publish the good rows, each
confirmed by Kafka. With ``strict`` any problem stops the import before anything is
published. Every record's ``event_id`` derives from its row, so importing a file again
publishes the same ids, and consumers, which drop repeats by ``event_id``, change nothing.

Exit codes of the command: 0 all imported; 1 imported, bad rows skipped; 2 a file failed, or
``--strict`` found problems (nothing published then).

Examples
--------
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "metrics.csv"
>>> _ = path.write_text(
...     "time;magic;win_rate;avg_profit;trade_count;drawdown;sharpe\n"
...     "2024.01.02 10:00;7;0.5;1.25;4;3.0;0.4\n"
...     "2024.01.02 10:15;7;1.5;1.25;4;3.0;0.4\n")
>>> checked = check_files([path], "auto", ImportOptions(account=123))
>>> [(f.kind, f.delimiter, f.records, f.bad_rows) for f in checked.files]
[('metrics', ';', 1, 1)]
>>> print(checked.problems[0].line, checked.problems[0].reason)
3 win_rate must be within 0..1, not '1.5'
"""

from __future__ import annotations

import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.schemas.catalogue import SchemaCatalogue
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import RecordValidationError
from botcopier.schemas.single_object import encode_record
from botcopier.streams.clients import producer_config
from botcopier.trainers.seed_csv import CsvTable, RowProblem, SeedFileError, open_table
from botcopier.trainers.seed_logs import ImportOptions, LogKind, Mapped, MetricLog, TradeLog
from botcopier.trainers.seed_market import BarLog, TickLog

__all__ = [
    "ImportCheck",
    "ImportOptions",
    "RowProblem",
    "check_files",
    "publish",
    "read_records",
    "run_import",
]

Say = Callable[[str], None]
KINDS: dict[str, type[LogKind]] = {k.name: k for k in (TradeLog, MetricLog, TickLog, BarLog)}
PROGRESS_EVERY = 10_000
_FLUSH_TIMEOUT_S = 120.0


class ImportFailedError(BotCopierError):
    """Publishing stopped: Kafka refused or did not confirm records, or a file changed."""


@dataclass
class FileCheck:
    """What the first pass found in one file."""

    path: Path
    kind: str | None = None
    delimiter: str = ""
    records: int = 0
    bad_rows: int = 0
    last_line: int = 0  # the second pass reads no further
    error: str | None = None  # the whole file cannot be imported


@dataclass
class ImportCheck:
    files: list[FileCheck]
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files if f.error is None)

    @property
    def bad_rows(self) -> int:
        return sum(f.bad_rows for f in self.files)

    @property
    def failed_files(self) -> list[FileCheck]:
        return [f for f in self.files if f.error is not None]


class _Pass:
    """One read of the files: parsers whose state spans files, and the event ids seen."""

    def __init__(self, kind: str, options: ImportOptions) -> None:
        if kind != "auto" and kind not in KINDS:
            raise BotCopierError(f"unknown kind {kind!r}: want auto, {', '.join(KINDS)}")
        self.kind = kind
        self.options = options
        self.catalogue = SchemaCatalogue.default()
        self._logs: dict[str, LogKind] = {}
        self._seen: dict[str, tuple[Path, int]] = {}

    def scan(self, found: FileCheck) -> Iterator[tuple[LogKind, Mapped | RowProblem]]:
        """Rows of one file as checked records or problems; SeedFileError fails the file."""
        try:
            with open_table(found.path) as table:
                log = self._log(table)
                found.kind, found.delimiter = log.name, table.delimiter
                schema = self.catalogue.current(log.schema)
                for item in log.scan(table):
                    if isinstance(item, Mapped):
                        item = self._checked(item, schema, found.path, log)
                    yield log, item
        except OSError as exc:
            raise SeedFileError(found.path, 0, f"cannot read the file: {exc}") from None
        except (EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise SeedFileError(found.path, 0, f"corrupt gzip file: {exc}") from None

    def _log(self, table: CsvTable) -> LogKind:
        name = self.kind
        if name == "auto":
            matches = [
                k.name for k in KINDS.values() if k.signature <= set(k.canonical(table.columns))
            ]
            if not matches:
                raise SeedFileError(
                    table.path,
                    table.header_line,
                    "cannot tell trades, metrics, bars or ticks from the header "
                    f"({', '.join(table.header)}): name the kind",
                )
            name = matches[0]
        if name not in self._logs:
            self._logs[name] = KINDS[name](self.options)
        return self._logs[name]

    def _checked(self, item: Mapped, schema: Any, path: Path, log: LogKind) -> Mapped | RowProblem:
        try:
            encode_record(schema, item.record)
        except RecordValidationError as exc:
            return RowProblem(path, item.line, str(exc))
        if log.name == "ticks":  # unique by construction, and too many to remember
            return item
        event_id = item.record["event_id"]
        first = self._seen.setdefault(event_id, (path, item.line))
        if first != (path, item.line):
            where = f"line {first[1]}" if first[0] == path else f"{first[0]}:{first[1]}"
            return RowProblem(
                path, item.line, f"event_id {event_id!r} again: the same event as {where}"
            )
        return item


def read_records(
    path: str | Path, kind: str, options: ImportOptions
) -> tuple[list[Mapped], list[RowProblem]]:
    """One file's rows checked as the first pass checks them, for a reader that needs no
    Kafka (`botcopier train --events`): its good records and its bad rows.

    Raises
    ------
    SeedFileError
        When the whole file cannot be read (no header, required columns missing, …).
    """
    records: list[Mapped] = []
    problems: list[RowProblem] = []
    for _log, item in _Pass(kind, options).scan(FileCheck(Path(path))):
        (problems if isinstance(item, RowProblem) else records).append(item)
    return records, problems


def check_files(
    paths: Sequence[str | Path], kind: str, options: ImportOptions, say: Say = lambda _: None
) -> ImportCheck:
    """The first pass: every row of every file checked, nothing published."""
    checked = ImportCheck([FileCheck(Path(p)) for p in paths])
    scan = _Pass(kind, options)
    for found in checked.files:
        try:
            for _log, item in scan.scan(found):
                found.last_line = max(found.last_line, item.line)
                if isinstance(item, RowProblem):
                    found.bad_rows += 1
                    checked.problems.append(item)
                else:
                    found.records += 1
        except SeedFileError as exc:
            found.error = exc.problem.reason
            checked.problems.append(exc.problem)
            say(f"{found.path}: FAILED, nothing will be imported from it ({found.error})")
            continue
        say(
            f"{found.path}: {found.kind} ({found.delimiter!r}-separated), "
            f"{found.records} good rows, {found.bad_rows} bad"
        )
    return checked


class _Deliveries:
    def __init__(self) -> None:
        self.confirmed: Counter[str] = Counter()
        self.failed = 0
        self.first_error: KafkaError | None = None

    def __call__(self, error: KafkaError | None, message: Any) -> None:
        if error is None:
            self.confirmed[message.topic()] += 1
            return
        self.failed += 1
        self.first_error = self.first_error or error


def publish(
    settings: Settings,
    checked: ImportCheck,
    kind: str,
    options: ImportOptions,
    say: Say = lambda _: None,
    progress_every: int = PROGRESS_EVERY,
) -> Counter[str]:
    """The second pass: the good rows of the files that did not fail, to Kafka.

    Returns the records Kafka confirmed per topic. Raises `ImportFailedError` when Kafka
    refuses or does not confirm a record (importing again is safe: same event ids), or when
    a file now has a problem the first pass did not see (it changed in between).
    """
    files = [f for f in checked.files if f.error is None and f.records]
    codec = ValueCodec.from_settings(settings)
    producer = Producer(producer_config(settings))
    _require_topics(producer, settings, {KINDS[f.kind].topic for f in files if f.kind})
    deliveries = _Deliveries()
    known = {(p.path, p.line) for p in checked.problems}
    scan = _Pass(kind, options)
    started, sent = time.monotonic(), 0
    for found in files:
        for log, item in scan.scan(FileCheck(found.path)):
            if item.line > found.last_line or (found.path, item.line) in known:
                continue  # written since the first pass, or reported there as a problem
            if isinstance(item, RowProblem):
                raise ImportFailedError(
                    f"{item} (not there in the first pass: did the file change? "
                    f"{sent} records were sent; importing again is safe)"
                )
            topic = settings.topic(log.topic)
            value = codec.encode(log.schema, item.record, topic=topic)
            _produce(producer, topic, item.key.encode(), value, deliveries)
            sent += 1
            if sent % progress_every == 0:
                say(f"published {sent:,}/{checked.records:,} records")
    unconfirmed = producer.flush(_FLUSH_TIMEOUT_S)
    if unconfirmed or deliveries.failed:
        raise ImportFailedError(
            f"Kafka did not confirm {unconfirmed + deliveries.failed} of {sent} records "
            f"(first error: {deliveries.first_error or 'flush timed out'}); "
            "importing again is safe: the records keep their event ids"
        )
    per_topic = ", ".join(f"{t} {n:,}" for t, n in sorted(deliveries.confirmed.items()))
    say(
        f"published {sent:,} records in {time.monotonic() - started:.1f} s, "
        f"all confirmed by Kafka ({per_topic or 'none'})"
    )
    return deliveries.confirmed


def _require_topics(producer: Producer, settings: Settings, names: set[str]) -> None:
    try:
        metadata = producer.list_topics(timeout=10)
    except KafkaException as exc:
        raise ImportFailedError(
            f"cannot reach Kafka at {settings.bootstrap_servers()}: {exc}"
        ) from exc
    for name in sorted(names):
        topic = metadata.topics.get(settings.topic(name))
        if topic is None or topic.error is not None:
            raise ImportFailedError(
                f"topic {settings.topic(name)} does not exist (run `botcopier topics create`)"
            )


def _produce(
    producer: Producer, topic: str, key: bytes, value: bytes, deliveries: _Deliveries
) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key, on_delivery=deliveries)
            break
        except BufferError:  # librdkafka's queue is full: wait for deliveries, never drop
            producer.poll(0.1)
    producer.poll(0)


def run_import(
    settings: Settings,
    paths: Sequence[Path],
    kind: str,
    options: ImportOptions,
    *,
    strict: bool = False,
    say: Say = print,
    warn: Say = lambda line: print(line, file=sys.stderr, flush=True),
) -> int:
    """Check, report every problem on ``warn``, publish unless strict found problems.

    Returns the command's exit code: 0 all imported, 1 bad rows skipped, 2 a file failed or
    ``strict`` found problems.
    """
    checked = check_files(paths, kind, options, say)
    for problem in checked.problems:
        warn(str(problem))
    failed = len(checked.failed_files)
    if strict and checked.problems:
        warn(
            f"strict: {checked.bad_rows} bad rows and {failed} failed files; nothing was published"
        )
        return 2
    confirmed = publish(settings, checked, kind, options, say) if checked.records else Counter()
    summary = f"imported {sum(confirmed.values())}, skipped {checked.bad_rows}"
    say(summary + (f", {failed} file(s) failed" if failed else ""))
    return 2 if failed else 1 if checked.bad_rows else 0
