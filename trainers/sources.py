"""One bot's history for training: its trade events and its chart's bars, from Kafka or files.

From Kafka, every partition of ``trade-events`` and ``market-data`` is read from the
beginning up to the end offsets seen when reading starts (what arrives later is the next
training's), and those end offsets are recorded so a model says exactly what it learned
from. The bot's events are those keyed ``account:magic``; its bars are the Bar records of
its symbol sent by the EA that reported its trades (several EAs may each send their own
broker's bars of one symbol), one per open time.

From files: bars in any MT4 bars CSV that `read_bars_csv` reads; events as JSON lines, a
CSV with TradeEvent's field names, or any trade log `botcopier import` reads (the seed's
``trades_raw.csv``), parsed and checked by the importer's own code.

Examples
--------
>>> pick_bars([{"symbol": "EURUSD", "ea_id": "a", "time_ms": 0, "timeframe_minutes": 60},
...            {"symbol": "EURUSD", "ea_id": "b", "time_ms": 0, "timeframe_minutes": 60},
...            {"symbol": "GBPUSD", "ea_id": "a", "time_ms": 0, "timeframe_minutes": 60}],
...           symbol="EURUSD", ea_ids={"a"})["ea_id"].tolist()
['a']
"""

from __future__ import annotations

import csv
import dataclasses
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from botcopier.config import Settings
from botcopier.schemas.codec import ValueCodec
from botcopier.schemas.exceptions import DecodeError
from botcopier.streams.clients import consumer_config
from botcopier.streams.topics import topic as topic_spec
from botcopier.trainers.dataset import NotEnoughDataError
from botcopier.trainers.importer import read_records
from botcopier.trainers.seed_csv import SeedFileError, open_table
from botcopier.trainers.seed_logs import ImportOptions

_NUMERIC_EVENT_FIELDS = (
    "event_time_ms account magic ticket parent_ticket open_time_ms close_time_ms seq"
).split()
_FLOAT_EVENT_FIELDS = "lots open_price close_price sl tp profit swap commission remaining_lots"


@dataclass(frozen=True)
class BotHistory:
    bot: dict[str, Any]  # account, magic, symbol, timeframe_minutes
    bars: pd.DataFrame
    events: list[dict[str, Any]]
    offsets: dict[str, dict[str, int]] | None  # topic -> partition -> next offset (Kafka)
    last_event_id: str | None
    source: str


def _most_common(values: Iterable[Any], what: str) -> Any:
    counts = Counter(v for v in values if v is not None)
    if not counts:
        raise NotEnoughDataError(f"no {what} to pick")
    return counts.most_common(1)[0][0]


def pick_bars(
    records: Iterable[Mapping[str, Any]],
    *,
    symbol: str,
    ea_ids: set[str] | None = None,
    timeframe_minutes: int | None = None,
) -> pd.DataFrame:
    """The bars of ``symbol`` (from ``ea_ids`` if given), one timeframe, one per open time."""
    rows = [
        r for r in records if r["symbol"] == symbol and (not ea_ids or r.get("ea_id") in ea_ids)
    ]
    if not rows:
        raise NotEnoughDataError(
            f"no {symbol} bars" + (f" from {sorted(ea_ids)}" if ea_ids else "")
        )
    timeframe = timeframe_minutes or _most_common((r["timeframe_minutes"] for r in rows), "bars")
    frame = pd.DataFrame([r for r in rows if r["timeframe_minutes"] == timeframe])
    # A replayed bar (EA spool, re-import) is the same bar: keep its first copy.
    frame = frame.drop_duplicates("time_ms", keep="first")
    return frame.sort_values("time_ms", kind="stable").reset_index(drop=True)


def read_to_end(
    settings: Settings,
    name: str,
    keep: Callable[[bytes | None, dict[str, Any]], bool],
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Records of catalogue topic ``name`` that ``keep`` accepts, oldest first per partition,
    read up to the end offsets found at the start; and those end offsets."""
    topic = topic_spec(name).full_name(settings.kafka.topic_prefix)
    codec = ValueCodec.from_settings(settings)
    consumer = Consumer(consumer_config(settings, group_id=f"botcopier-train-{uuid.uuid4().hex}"))
    kept: list[dict[str, Any]] = []
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise NotEnoughDataError(
                f"topic {topic} does not exist (run `botcopier topics create`)"
            )
        ends = {}
        for partition in metadata.partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 10)
            ends[partition] = high
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        seen = 0
        while pending:
            batch = consumer.consume(num_messages=5_000, timeout=1.0)
            for msg in batch:
                if msg.error() or msg.partition() not in pending:
                    continue
                if msg.offset() >= ends[msg.partition()] - 1:
                    pending.discard(msg.partition())
                if msg.offset() >= ends[msg.partition()]:
                    continue
                seen += 1
                try:
                    record = codec.decode(msg.value(), topic=topic).record
                except DecodeError:
                    continue  # the bridge dead-letters bad input; nothing valid is here to skip
                if keep(msg.key(), record):
                    kept.append(record)
            if batch and seen % 50_000 < len(batch):
                progress(f"{name}: {seen} records read, {len(kept)} kept")
        progress(f"{name}: {seen} records read, {len(kept)} kept")
    finally:
        consumer.close()
    return kept, {str(p): end for p, end in ends.items()}


def history_from_kafka(
    settings: Settings,
    account: int,
    magic: int,
    *,
    symbol: str | None = None,
    timeframe_minutes: int | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> BotHistory:
    key = f"{account}:{magic}".encode()
    events, event_ends = read_to_end(
        settings,
        "trade-events",
        lambda k, r: k == key or (r.get("account") == account and r.get("magic") == magic),
        progress,
    )
    if not events:
        raise NotEnoughDataError(f"no trade events of bot {account}:{magic} in Kafka")
    events = _unique(events)
    symbol = symbol or _most_common((e["symbol"] for e in events), "symbol")
    ea_ids = {e["ea_id"] for e in events if e.get("ea_id")} or None
    bar_records, bar_ends = read_to_end(
        settings, "market-data", lambda k, r: "timeframe_minutes" in r and r["symbol"] == symbol,
        progress,
    )  # fmt: skip
    # A Bar record's event time is the bar's open time.
    bar_records = [{**r, "time_ms": r["event_time_ms"]} for r in bar_records]
    bars = pick_bars(bar_records, symbol=symbol, ea_ids=ea_ids, timeframe_minutes=timeframe_minutes)
    prefix = settings.kafka.topic_prefix
    return BotHistory(
        bot=_bot(account, magic, symbol, bars),
        bars=bars,
        events=[e for e in events if e["symbol"] == symbol],
        offsets={f"{prefix}trade-events": event_ends, f"{prefix}market-data": bar_ends},
        last_event_id=events[-1]["event_id"],
        source="kafka",
    )


def _bot(account: int | None, magic: int | None, symbol: str, bars: pd.DataFrame) -> dict:
    timeframe = int(bars["timeframe_minutes"].iloc[0])
    return {"account": account, "magic": magic, "symbol": symbol, "timeframe_minutes": timeframe}


def _unique(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event once (the link is at-least-once), in event-time order."""
    seen, out = set(), []
    for event in events:
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            out.append(event)
    return sorted(out, key=lambda e: e["event_time_ms"])


def typed_event(row: Mapping[str, Any]) -> dict[str, Any]:
    event = {k: (None if v == "" else v) for k, v in row.items()}
    for name in _NUMERIC_EVENT_FIELDS:
        if event.get(name) is not None:
            event[name] = int(float(event[name]))
    for name in _FLOAT_EVENT_FIELDS.split():
        if event.get(name) is not None:
            event[name] = float(event[name])
    return event


def read_events_file(
    path: Path,
    *,
    account: int | None = None,
    magic: int | None = None,
    symbol: str | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> list[dict[str, Any]]:
    """TradeEvent dicts from JSON lines (``.jsonl``/``.json``), a CSV with their field names,
    or any trade log `botcopier import` reads (the seed's ``trades_raw.csv`` in each of its
    column sets), through the importer's own parser and checks.

    A seed log's bad rows are reported on ``say`` and skipped, as the import skips them, so
    training from the file and from what its import published learn the same events.
    ``account``, ``magic`` and ``symbol`` stand in for columns a seed log lacks.

    Raises
    ------
    SeedFileError
        When the file is not a trade log: the one line says where and why.
    """
    path = Path(path)
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        return _json_events(path)
    with open_table(path) as table:
        own_fields = {"event_time_ms", "action"} <= set(table.columns)
    if own_fields:
        return _own_csv_events(path)
    options = ImportOptions(account=account, magic=magic, symbol=symbol)
    records, problems = read_records(path, "trades", options)
    for problem in problems:
        say(str(problem))
    if problems:
        say(f"{path.name}: {len(problems)} bad rows skipped, as `botcopier import` skips them")
    return [item.record for item in records]


def _json_events(path: Path) -> list[dict[str, Any]]:
    return list(json_line_events(path))


def json_line_events(path: Path) -> Iterator[dict[str, Any]]:
    """The TradeEvent dicts of a JSON-lines file, one at a time (`lite` streams them)."""
    with Path(path).open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                event = typed_event(json.loads(line))
            except (json.JSONDecodeError, ValueError, AttributeError) as exc:
                raise SeedFileError(path, line_number, f"not a trade event: {exc}") from None
            if not {"event_time_ms", "action"} <= event.keys():
                raise SeedFileError(
                    path, line_number, "a trade event lacks event_time_ms or action"
                )
            yield event


def _own_csv_events(path: Path) -> list[dict[str, Any]]:
    """A CSV whose header is TradeEvent's field names (what `botcopier export` writes)."""
    events = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            try:
                event = typed_event(row)
            except ValueError as exc:
                raise SeedFileError(path, reader.line_num, f"not a trade event: {exc}") from None
            if event["event_time_ms"] is None or event["action"] is None:
                raise SeedFileError(path, reader.line_num, "event_time_ms or action is empty")
            events.append(event)
    return events


def _one_bot(events: list[dict[str, Any]], path: Path) -> None:
    """Refuse a file holding several bots' trades when no option said which bot to train."""
    bots = sorted({(e.get("account"), e.get("magic")) for e in events}, key=str)
    if len(bots) > 1:
        named = ", ".join(f"{a}:{m}" for a, m in bots[:5]) + (" …" if len(bots) > 5 else "")
        raise NotEnoughDataError(
            f"{path} holds the trades of {len(bots)} bots (account:magic {named}): "
            "say which with --magic (and --account)"
        )


def history_from_files(
    bars_path: Path,
    events_path: Path,
    *,
    account: int | None = None,
    magic: int | None = None,
    symbol: str | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> BotHistory:
    from botcopier.bridge.simulator.market import read_bars_csv

    events = read_events_file(events_path, account=account, magic=magic, symbol=symbol, say=say)
    if magic is not None:
        events = [e for e in events if e.get("magic") == magic]
    if account is not None:
        events = [e for e in events if e.get("account") in (account, None)]
    if not events:
        raise NotEnoughDataError(f"no trade events of the bot in {events_path}")
    _one_bot(events, Path(events_path))
    symbol = symbol or _most_common((e.get("symbol") for e in events), "symbol")
    records = [dataclasses.asdict(b) for b in read_bars_csv(bars_path, symbol=symbol)]
    bars = pick_bars(records, symbol=symbol)
    return BotHistory(
        bot=_bot(account, magic, symbol, bars),
        bars=bars,
        events=sorted(
            (e for e in events if e.get("symbol") in (symbol, None)),
            key=lambda e: e["event_time_ms"],
        ),
        offsets=None,
        last_event_id=events[-1].get("event_id"),
        source=f"files {Path(bars_path).name} + {Path(events_path).name}",
    )
