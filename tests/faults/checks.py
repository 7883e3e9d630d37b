"""What every fault scenario must leave behind, as reusable checks.

- `verify_delivery`: every sent event is in Kafka at least once (by ``event_id``), nothing
  appears that was never sent, and each EA's events keep their order within each partition
  (the key is ``account:magic``, so Kafka orders per bot, never across partitions).
- `verify_effects`: each distinct input has exactly one distinct downstream effect, repeats
  of an effect (a redo after a crash) are identical, and per group (bot) the counted total
  equals the number of distinct inputs.

Both return a report that lists what is wrong instead of stopping at the first problem, so a
failing scenario says which event ids went missing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from botcopier.config import Settings
from botcopier.schemas import SchemaCatalogue, SingleObjectDeserializer
from tests.helpers import consume_to_end

_SHOWN = 10  # ids shown in a failure message; the report holds all of them


class KafkaEvent(NamedTuple):
    """One record as read from its topic: enough to check delivery and order."""

    event_id: str
    ea_id: str
    partition: int
    offset: int


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    in_kafka: int
    distinct: int
    duplicates: int
    missing: list[str]
    unexpected: list[str]
    # (ea_id, partition) -> the first event found before an event the EA sent earlier.
    out_of_order: dict[tuple[str, int], str]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.out_of_order)

    def counts(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "in_kafka": self.in_kafka,
            "duplicates_in_kafka": self.duplicates,
            "distinct": self.distinct,
        }

    def problems(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} sent events not in Kafka: {self.missing[:_SHOWN]}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} never sent: {self.unexpected[:_SHOWN]}")
        if self.out_of_order:
            shown = dict(list(self.out_of_order.items())[:_SHOWN])
            parts.append(f"order broken for {len(self.out_of_order)} EA partitions: {shown}")
        return "; ".join(parts) or "ok"


def verify_delivery(
    sent: Mapping[str, Sequence[str]], in_kafka: Iterable[KafkaEvent]
) -> DeliveryReport:
    """Check ``in_kafka`` (records in the order read) against ``sent`` (ea_id -> event ids in
    the order the EA submitted them).

    >>> sent = {"a": ["a1", "a2", "a3"], "b": ["b1"]}
    >>> read = [KafkaEvent("a1", "a", 0, 0), KafkaEvent("a2", "a", 0, 1),
    ...         KafkaEvent("a1", "a", 0, 2), KafkaEvent("b1", "b", 1, 0)]
    >>> report = verify_delivery(sent, read)
    >>> report.ok, report.missing, report.duplicates, report.distinct
    (False, ['a3'], 1, 3)
    >>> swapped = [KafkaEvent("a2", "a", 0, 0), KafkaEvent("a1", "a", 0, 1)]
    >>> verify_delivery({"a": ["a1", "a2"]}, swapped).out_of_order
    {('a', 0): 'a1 after a2'}
    """
    position = {eid: (ea, n) for ea, ids in sent.items() for n, eid in enumerate(ids)}
    counts: Counter[str] = Counter()
    unexpected: list[str] = []
    last: dict[tuple[str, int], tuple[int, str]] = {}
    out_of_order: dict[tuple[str, int], str] = {}
    total = 0
    for event in sorted(in_kafka, key=lambda e: (e.partition, e.offset)):
        total += 1
        counts[event.event_id] += 1
        if counts[event.event_id] > 1:
            continue  # a resend: where the first copy stands is what order means
        where = position.get(event.event_id)
        if where is None or where[0] != event.ea_id:
            unexpected.append(event.event_id)
            continue
        stream = (event.ea_id, event.partition)
        previous = last.get(stream)
        if previous is not None and where[1] < previous[0] and stream not in out_of_order:
            out_of_order[stream] = f"{event.event_id} after {previous[1]}"
        last[stream] = (where[1], event.event_id)
    missing = [eid for ids in sent.values() for eid in ids if eid not in counts]
    return DeliveryReport(
        sent=len(position),
        in_kafka=total,
        distinct=len(counts),
        duplicates=total - len(counts),
        missing=missing,
        unexpected=unexpected,
        out_of_order=out_of_order,
    )


@dataclass(frozen=True)
class EffectReport:
    inputs: int  # distinct inputs that must each have one effect
    effects: int  # effect records read, repeats included
    distinct: int  # distinct effects
    repeats: int
    missing: list[str]  # inputs without an effect
    unexpected: list[str]  # effects of no known input
    inconsistent: list[str]  # effects repeated with different content
    # group -> (counted by the downstream service, distinct inputs)
    miscounted: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.inconsistent or self.miscounted)

    def counts(self) -> dict[str, int]:
        return {"downstream": self.distinct, "downstream_repeats": self.repeats}

    def problems(self) -> str:
        parts = []
        for name in ("missing", "unexpected", "inconsistent"):
            ids = getattr(self, name)
            if ids:
                parts.append(f"{len(ids)} {name}: {ids[:_SHOWN]}")
        if self.miscounted:
            parts.append(
                f"counted vs distinct per group: {dict(list(self.miscounted.items())[:_SHOWN])}"
            )
        return "; ".join(parts) or "ok"


def verify_effects(
    inputs: Mapping[str, Sequence[str]],
    effects: Sequence[Mapping[str, Any]],
    effect_of: Callable[[str], str],
    content: Callable[[Mapping[str, Any]], Any],
    counted: Callable[[Mapping[str, Any]], tuple[str, int]] | None = None,
) -> EffectReport:
    """Each input (group -> input ids) has exactly one distinct effect.

    ``effect_of(input_id)`` is the effect's ``event_id``; ``content(effect)`` is what a repeat
    must reproduce; ``counted(effect)`` gives (group, total counted so far): the last effect
    of each group, in the order read, must count every distinct input of that group.

    >>> inputs = {"bot": ["c1", "c2"]}
    >>> effects = [{"event_id": "bm-c1", "n": 1}, {"event_id": "bm-c2", "n": 2},
    ...            {"event_id": "bm-c2", "n": 2}]
    >>> report = verify_effects(inputs, effects, "bm-{}".format, lambda e: e["n"],
    ...                         lambda e: ("bot", e["n"]))
    >>> report.ok, report.distinct, report.repeats
    (True, 2, 1)
    """
    wanted = {effect_of(i): i for ids in inputs.values() for i in ids}
    seen: dict[str, Any] = {}
    unexpected, inconsistent = [], []
    last_count: dict[str, int] = {}
    for effect in effects:
        eid = effect["event_id"]
        if eid not in wanted:
            unexpected.append(eid)
            continue
        value = content(effect)
        if eid in seen and seen[eid] != value and eid not in inconsistent:
            inconsistent.append(eid)
        seen.setdefault(eid, value)
        if counted is not None:
            group, total = counted(effect)
            last_count[group] = total
    miscounted = {}
    if counted is not None:
        for group, ids in inputs.items():
            expected = len(set(ids))
            if last_count.get(group) != expected:
                miscounted[group] = (last_count.get(group, 0), expected)
    return EffectReport(
        inputs=len(wanted),
        effects=len(effects),
        distinct=len(seen),
        repeats=sum(1 for e in effects if e["event_id"] in wanted) - len(seen),
        missing=[i for eid, i in wanted.items() if eid not in seen],
        unexpected=unexpected,
        inconsistent=inconsistent,
        miscounted=miscounted,
    )


_READER = SingleObjectDeserializer(SchemaCatalogue.default())


def decoded(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [_READER.deserialize(m.value()) for m in messages]


def read_events(settings: Settings, topic_name: str, timeout_s: float = 120.0) -> list[KafkaEvent]:
    """Every record now in a catalogue topic, as `KafkaEvent` in partition and offset order."""
    messages = consume_to_end(settings, settings.topic(topic_name), timeout_s)
    return [
        KafkaEvent(record["event_id"], record["ea_id"], m.partition(), m.offset())
        for m, record in zip(messages, decoded(messages), strict=True)
    ]


def read_until(
    settings: Settings,
    topic_name: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout_s: float = 300.0,
) -> list[dict[str, Any]]:
    """The decoded records of a catalogue topic once ``done(records)`` holds (or at the
    timeout). One consumer reads on from where it was, so waiting costs the machine little
    while the services under test catch up."""
    topic = settings.topic(topic_name)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers(),
            "group.id": f"fault-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        while not done(records) and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=10_000, timeout=1.0)
            records.extend(decoded(m for m in batch if not m.error()))
    finally:
        consumer.close()
    return records
