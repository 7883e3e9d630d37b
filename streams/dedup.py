"""Drop repeated events by ``event_id``: what makes at-least-once delivery count once.

Repeats come from EA resends after a bridge crash, so they arrive close to the original;
a window of the most recent ids (an LRU) catches them in bounded memory.

Examples
--------
>>> dedup = EventDeduplicator(capacity=2)
>>> [dedup.is_new(e) for e in ["a", "b", "a", "c", "a"]]
[True, True, False, True, False]
>>> dedup.duplicates
2
"""

from __future__ import annotations

from collections import OrderedDict


class EventDeduplicator:
    def __init__(self, capacity: int = 1_000_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.duplicates = 0

    def is_new(self, event_id: str) -> bool:
        """Record ``event_id``; False if it was seen within the window."""
        if event_id in self._seen:
            self._seen.move_to_end(event_id)
            self.duplicates += 1
            return False
        self._seen[event_id] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
