"""One bot's history for training: its trade events and its chart's bars, from Kafka or files.

From Kafka, every partition of ``trade-events`` and ``market-data`` is read from the
beginning up to the end offsets seen when reading starts (what arrives later is the next
training's), and those end offsets are recorded so a model says exactly what it learned
from. The bot's events are those keyed ``account:magic``; its bars are the Bar records of
its symbol sent by the EA that reported its trades (several EAs may each send their own
broker's bars of one symbol), one per open time.

From files: bars in any MT4 bars CSV that `read_bars_csv` reads, events as JSON lines or a
CSV with TradeEvent's field names.

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
from collections.abc import Callable, Iterable, Mapping
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


def read_events_file(path: Path) -> list[dict[str, Any]]:
    """TradeEvent dicts from JSON lines (``.jsonl``/``.json``) or a CSV with their fields."""
    path = Path(path)
    events = []
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix in (".jsonl", ".json", ".ndjson"):
            for line_number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    events.append(typed_event(json.loads(line)))
                except (json.JSONDecodeError, ValueError, AttributeError) as exc:
                    raise ValueError(f"{path}:{line_number}: not a trade event: {exc}") from exc
        else:
            for row in csv.DictReader(handle):
                events.append(typed_event(row))
    missing = [i for i, e in enumerate(events) if not {"event_time_ms", "action"} <= set(e)]
    if missing:
        raise ValueError(f"{path}: event {missing[0] + 1} lacks event_time_ms or action")
    return events


def history_from_files(
    bars_path: Path,
    events_path: Path,
    *,
    account: int | None = None,
    magic: int | None = None,
    symbol: str | None = None,
) -> BotHistory:
    from botcopier.bridge.simulator.market import read_bars_csv

    events = read_events_file(events_path)
    if magic is not None:
        events = [e for e in events if e.get("magic") == magic]
    if account is not None:
        events = [e for e in events if e.get("account") in (account, None)]
    if not events:
        raise NotEnoughDataError(f"no trade events of the bot in {events_path}")
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
