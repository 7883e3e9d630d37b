"""Fans the dashboard's records out to every open event stream, on the event loop.

The view and every subscriber's queue are touched from the event loop only, so a page that
connects gets a snapshot and then exactly the items that came after it: nothing between the
two can be lost or shown twice. A subscriber that falls ``max_batches`` behind (a stalled
browser tab) is not allowed to hold memory: its queue is emptied and its next message is a
fresh snapshot instead.

Examples
--------
>>> import asyncio
>>> from botcopier.streams.dashboard_metrics import DashboardMetrics
>>> from botcopier.streams.dashboard_view import DashboardView
>>> async def demo():
...     hub = DashboardHub(DashboardView(), DashboardMetrics(), max_batches=1)
...     page = hub.subscribe()
...     drift = {"event_id": "d1", "event_time_ms": 1, "account": 1, "magic": 2,
...              "detector": "adwin", "statistic": 0.3, "threshold": 0.1}
...     hub.publish([("drift", drift)])
...     seen = [await page.next(), await page.next()]
...     hub.publish([("drift", {**drift, "event_id": "d2"})])
...     hub.publish([("drift", {**drift, "event_id": "d3"})])  # one batch too many
...     seen.append(await page.next())
...     return [(kind, len(data["drift"]) if kind == "snapshot" else len(data))
...             for kind, data in seen]
>>> asyncio.run(demo())
[('snapshot', 0), ('records', 1), ('snapshot', 3)]
"""

from __future__ import annotations

import asyncio
from typing import Any

from botcopier.streams.dashboard_feed import Batch
from botcopier.streams.dashboard_metrics import DashboardMetrics
from botcopier.streams.dashboard_view import DashboardView, Item


class Subscriber:
    """One open event stream: a snapshot first, then batches of items."""

    def __init__(self, snapshot: dict[str, Any], max_batches: int) -> None:
        self._queue: asyncio.Queue[list[Item] | None] = asyncio.Queue(max_batches)
        self._snapshot: dict[str, Any] | None = snapshot
        self.closed = False

    def offer(self, items: list[Item], view: DashboardView) -> bool:
        """Queue ``items``; False when the subscriber was too far behind and must resync."""
        try:
            self._queue.put_nowait(items)
            return True
        except asyncio.QueueFull:
            while not self._queue.empty():
                self._queue.get_nowait()
            # Taken now, so it holds everything dropped; later items queue behind it.
            self._snapshot = view.snapshot()
            self._queue.put_nowait([])  # wakes `next`
            return False

    def close(self) -> None:
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self, timeout_s: float | None = None) -> tuple[str, Any]:
        """The next message: ``("snapshot", dict)``, ``("records", items)``, ``("closed",
        None)``, or ``("idle", None)`` when nothing came within ``timeout_s``."""
        while True:
            if self.closed:
                return "closed", None
            if self._snapshot is not None:
                snapshot, self._snapshot = self._snapshot, None
                return "snapshot", snapshot
            try:
                items = await asyncio.wait_for(self._queue.get(), timeout_s)
            except TimeoutError:
                return "idle", None
            if items is None:
                return "closed", None
            if items:
                return "records", items


class DashboardHub:
    def __init__(
        self, view: DashboardView, metrics: DashboardMetrics, max_batches: int = 500
    ) -> None:
        self.view, self.metrics, self.max_batches = view, metrics, max_batches
        self._subscribers: set[Subscriber] = set()

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    def publish(self, batch: Batch) -> None:
        """Take a batch of ``(topic, record)`` into the view and queue it for every stream."""
        items = [item for topic, record in batch for item in self.view.take(topic, record)]
        if not items:
            return
        for subscriber in self._subscribers:
            if not subscriber.offer(items, self.view):
                self.metrics.resyncs.inc()

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(self.view.snapshot(), self.max_batches)
        self._subscribers.add(subscriber)
        self.metrics.sse_clients.set(len(self._subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self.metrics.sse_clients.set(len(self._subscribers))

    def close(self) -> None:
        """End every stream (at shutdown)."""
        for subscriber in list(self._subscribers):
            subscriber.close()
