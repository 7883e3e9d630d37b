"""librdkafka's log lines into Python logging, without a fresh broker's passing retries.

A broker that has just started is still loading its coordinators: an idempotent producer's
first request for a producer id is answered "Coordinator load in progress", and librdkafka
logs a warning for each retry (``GETPID … Coordinator load in progress: retrying``) while it
holds the records back until the id comes, which is a second or two. That is "not yet", as
`wait_for_group` treats it, not a problem: `ClientLogger` keeps such lines to itself for
``grace_s`` after the client is made, and lets them through (saying how long it has waited)
only once the wait lasts. Every other line passes as it is.

Examples
--------
>>> import logging
>>> seen = []
>>> class Sink(logging.Logger):
...     def log(self, level, msg, *args, **kwargs):
...         seen.append(msg % args)
>>> now = [0.0]
>>> logger = ClientLogger(Sink("t"), grace_s=10.0, clock=lambda: now[0])
>>> line = "[thrd:main]: Failed to acquire idempotence PID: Coordinator load in progress: retrying"
>>> logger.log(logging.WARNING, "%s [%s] %s", "GETPID", "rdkafka#producer-1", line)
>>> logger.held_back, seen
(1, [])
>>> now[0] = 12.0
>>> logger.log(logging.WARNING, "%s [%s] %s", "GETPID", "rdkafka#producer-1", line)
>>> seen[0].startswith("GETPID [rdkafka#producer-1] [thrd:main]: Failed to acquire")
True
>>> seen[0].endswith("(still loading after 12 s)")
True
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

# What a broker says while its coordinators load; librdkafka retries on its own meanwhile.
_LOADING = ("Coordinator load in progress", "Coordinator not available")
COORDINATOR_GRACE_S = 10.0


class ClientLogger:
    """The ``logger`` of one librdkafka client: passes lines to ``target``, holding back a
    loading coordinator's retries for the first ``grace_s`` of the client's life."""

    def __init__(
        self,
        target: logging.Logger,
        grace_s: float = COORDINATOR_GRACE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self.grace_s = grace_s
        self.clock = clock
        self.started = clock()
        self.held_back = 0

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        text = msg % args if args else msg
        if any(marker in text for marker in _LOADING):
            waited = self.clock() - self.started
            if waited < self.grace_s:
                self.held_back += 1
                return
            text = f"{text} (still loading after {waited:.0f} s)"
        self.target.log(level, "%s", text, **kwargs)
