"""Produces to Kafka from asyncio with confluent-kafka's idempotent producer.

confluent-kafka reports deliveries from `poll()`; a dedicated thread polls and hands each
batch of reports to the event loop in one call, so an ack can go out within about a
millisecond of Kafka's confirmation without the loop ever blocking.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Producer

from botcopier.config import Settings
from botcopier.streams.clients import producer_config

DeliveryCallback = Callable[["Delivery"], None]

# The bridge acks per event, so it trades a little batching for latency.
BRIDGE_PRODUCER = {"linger.ms": 5, "queue.buffering.max.messages": 200_000}
_POLL_S = 0.05
_QUEUE_FULL_WAIT_S = 0.002


@dataclass(frozen=True, slots=True)
class Delivery:
    error: KafkaError | None
    topic: str


class KafkaPublisher:
    def __init__(self, settings: Settings, **overrides: Any) -> None:
        self._producer = Producer(producer_config(settings, **{**BRIDGE_PRODUCER, **overrides}))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reports: list[tuple[DeliveryCallback, Delivery]] = []
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._running = True
        self._thread = threading.Thread(target=self._poll_loop, name="kafka-poll", daemon=True)
        self._thread.start()

    def queue_depth(self) -> int:
        """Messages handed to librdkafka and not yet confirmed."""
        return len(self._producer)

    async def publish(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        on_delivered: DeliveryCallback,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Hand one message to Kafka; ``on_delivered(Delivery)`` runs on the event loop.

        Waits (never drops) while librdkafka's local queue is full: a slow broker slows
        the caller.
        """
        assert self._loop is not None, "start() first"  # noqa: S101

        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            # Runs in the poll thread, inside poll().
            self._reports.append((on_delivered, Delivery(err, topic)))

        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=list(headers), on_delivery=on_delivery
                )
                return
            except BufferError:
                await asyncio.sleep(_QUEUE_FULL_WAIT_S)

    def _poll_loop(self) -> None:
        while self._running or len(self._producer):
            self._producer.poll(_POLL_S)
            if self._reports:
                batch, self._reports = self._reports, []
                assert self._loop is not None  # noqa: S101
                try:
                    self._loop.call_soon_threadsafe(_resolve_all, batch)
                except RuntimeError:  # the loop closed during shutdown
                    return

    async def close(self, timeout_s: float = 30.0) -> int:
        """Flush what is queued and stop polling; returns messages still undelivered."""
        loop = asyncio.get_running_loop()
        remaining = await loop.run_in_executor(None, self._producer.flush, timeout_s)
        self._running = False
        if self._thread is not None:
            await loop.run_in_executor(None, self._thread.join, timeout_s)
        return remaining


def _resolve_all(batch: list[tuple[DeliveryCallback, Delivery]]) -> None:
    for callback, delivery in batch:
        callback(delivery)
