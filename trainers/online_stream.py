"""From two topics to one bot's clone: merging by event time, and picking the bot's chart.

The online learner reads ``trade-events`` and ``market-data`` at once, each at its own pace,
yet the clone needs bars and events in event-time order (`OnlineClone`). `EventTimeMerge`
holds each record until the other topic can no longer bring anything earlier:

    a record at time t is released once the other source has delivered a record at or
    after t, or has read every partition to its end (librdkafka's partition EOF).

Within one source the records come in time order (the bot's events share one partition by
their key, a chart's bars come from one EA over one partition by symbol); across the two the
rule above restores it. A source at its end releases the other freely, so a bot that rarely
trades never holds its bars back, and an event arriving later than a whole bar period after
its bar (the only way past the rule) is counted as late by the clone.

`BotFeed` picks what belongs to the bot: its events by ``account:magic`` (each ``event_id``
once), and the bars of its chart: its symbol, from the EA that reports its trades (several
EAs may send their own broker's bars of one symbol), of one timeframe. Until the bot's first
event says which chart that is, bars wait in a bounded buffer per chart.

Examples
--------
>>> merge = EventTimeMerge()
>>> merge.push("bars", 100, {"bar": 1})
>>> list(merge.pop_ready())  # the events could still bring something before 100
[]
>>> merge.push("events", 150, {"event": 1})
>>> list(merge.pop_ready())
[('bars', {'bar': 1})]
>>> merge.set_at_end("bars", True)
>>> list(merge.pop_ready())
[('events', {'event': 1})]
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from botcopier.streams.dedup import EventDeduplicator
from botcopier.trainers.online import OnlineClone, Step, default_window_bars

SOURCES = ("events", "bars")  # on equal times an event goes first: it belongs to an older bar


class EventTimeMerge:
    def __init__(self) -> None:
        self._queues: dict[str, list[tuple[int, int, dict[str, Any]]]] = {s: [] for s in SOURCES}
        self._latest_ms: dict[str, int | None] = dict.fromkeys(SOURCES)
        self._at_end = dict.fromkeys(SOURCES, False)
        self._arrivals = itertools.count()

    def push(self, source: str, time_ms: int, record: dict[str, Any]) -> None:
        bisect.insort(self._queues[source], (time_ms, next(self._arrivals), record))
        latest = self._latest_ms[source]
        self._latest_ms[source] = time_ms if latest is None else max(latest, time_ms)

    def set_at_end(self, source: str, at_end: bool) -> None:
        self._at_end[source] = at_end

    def waiting(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def _caught_up(self, source: str, time_ms: int) -> bool:
        latest = self._latest_ms[source]
        return self._at_end[source] or (latest is not None and latest >= time_ms)

    def pop_ready(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Released records, oldest first, as (source, record)."""
        while True:
            heads = [(q[0][0], SOURCES.index(s), s) for s, q in self._queues.items() if q]
            if not heads:
                return
            time_ms, _, source = min(heads)
            other = SOURCES[1 - SOURCES.index(source)]
            if not self._caught_up(other, time_ms):
                return
            yield source, self._queues[source].pop(0)[2]


def bar_time_ms(record: Mapping[str, Any]) -> int:
    """A Bar record's event time is the bar's open time."""
    return int(record["time_ms"] if "time_ms" in record else record["event_time_ms"])


class BotFeed:
    """The bot's events and its chart's bars, in time order, into its `OnlineClone`."""

    def __init__(
        self,
        account: int,
        magic: int,
        *,
        symbol: str | None = None,
        timeframe_minutes: int | None = None,
        ea_id: str | None = None,
        clone_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.account, self.magic = account, magic
        self.key = f"{account}:{magic}".encode()
        self.symbol, self.timeframe_minutes, self.ea_id = symbol, timeframe_minutes, ea_id
        self.clone_options = dict(clone_options or {})
        self.clone: OnlineClone | None = None
        self.dedup = EventDeduplicator(capacity=100_000)
        self._identified = False  # the bot's first event was seen
        self._chart: tuple[Any, str, int] | None = None  # (ea_id, symbol, timeframe)
        self._buffer_bars = self.clone_options.get("window_bars") or default_window_bars()
        self._waiting: dict[tuple[Any, str, int], deque[dict[str, Any]]] = {}
        self._early_events: list[dict[str, Any]] = []  # the bot's, before its chart's first bar

    def wants_event(self, key: bytes | None, record: Mapping[str, Any]) -> bool:
        """Is this TradeEvent the bot's (and new)?"""
        mine = key == self.key or (
            record.get("account") == self.account and record.get("magic") == self.magic
        )
        return mine and self.dedup.is_new(record["event_id"])

    def wants_bar(self, record: Mapping[str, Any]) -> bool:
        """Could this market-data record be a bar of the bot's chart?"""
        if "timeframe_minutes" not in record:
            return False  # a Tick
        if self.symbol is not None and record["symbol"] != self.symbol:
            return False
        if (
            self.timeframe_minutes is not None
            and record["timeframe_minutes"] != self.timeframe_minutes
        ):
            return False
        return self.ea_id is None or record.get("ea_id") == self.ea_id

    def take(self, source: str, record: dict[str, Any]) -> list[Step]:
        """One released record; returns the clone's steps (bars it learned)."""
        if source == "events":
            if not self._identified:
                self._identify(record)
            if self.clone is None:
                self._early_events.append(record)
                return self._start() if self._chart is not None else []
            return self.clone.observe_event(record)
        if not self.wants_bar(record):
            return []
        if self.clone is not None:
            return self.clone.observe_bar(record)
        chart = (record.get("ea_id"), record["symbol"], int(record["timeframe_minutes"]))
        self._waiting.setdefault(chart, deque(maxlen=self._buffer_bars)).append(record)
        if self._identified:  # the bot's chart had sent no bar yet: this one names it
            self._chart = chart
            return self._start()
        return []

    def _identify(self, event: Mapping[str, Any]) -> None:
        """The bot's first event names its chart: its symbol and the EA that reports it."""
        self._identified = True
        self.symbol = self.symbol or event["symbol"]
        self.ea_id = self.ea_id or event.get("ea_id")
        charts = [
            chart
            for chart, bars in self._waiting.items()
            if bars and self.wants_bar({"ea_id": chart[0], "symbol": chart[1],
                                        "timeframe_minutes": chart[2]})
        ]  # fmt: skip
        if charts:  # the one that sent the most bars, should the EA have changed timeframe
            self._chart = max(charts, key=lambda chart: len(self._waiting[chart]))

    def _start(self) -> list[Step]:
        """Create the clone and give it what waited, in time order."""
        ea_id, symbol, timeframe = self._chart
        self.ea_id, self.symbol, self.timeframe_minutes = self.ea_id or ea_id, symbol, timeframe
        self.clone = OnlineClone(symbol, timeframe, **self.clone_options)
        backlog = [(bar_time_ms(bar), 1, "bars", bar) for bar in self._waiting[self._chart]]
        backlog += [(e["event_time_ms"], 0, "events", e) for e in self._early_events]
        self._waiting, self._early_events = {}, []
        steps = []
        for _, _, source, record in sorted(backlog, key=lambda item: item[:2]):
            observe = self.clone.observe_bar if source == "bars" else self.clone.observe_event
            steps += observe(record)
        return steps
