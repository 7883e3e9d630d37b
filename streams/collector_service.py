"""Runs the collector as a service (`botcopier collector`) until SIGTERM or SIGINT.

The Kafka consumer loop runs in a thread of its own (confluent-kafka blocks); the HTTP
endpoints run on the asyncio loop. On a signal the consumer commits what it stored and
leaves its group, then the HTTP server stops. If the consumer loop fails (the database
cannot be written, say) the service stops and exits 1, without committing the batch that
was not stored.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Any

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.run_record import start_service
from botcopier.streams.collector import MetricsCollector
from botcopier.streams.collector_http import CollectorHttp
from botcopier.streams.collector_metrics import CollectorMetrics
from botcopier.streams.metrics_store import TABLES, MetricsStore

log = logging.getLogger("botcopier.collector")


class CollectorError(BotCopierError):
    """The collector service cannot start."""


class CollectorService:
    """The collector's parts wired together: store, gauges, consumer thread, HTTP."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = MetricsStore(settings.collector_database(), settings.collector.max_rows)
        self.metrics = CollectorMetrics()
        self.collector = MetricsCollector(settings, self.store, self.metrics)
        self.http = CollectorHttp(self.store, self.metrics, self.health)
        self._stop_consumer = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    def health(self) -> dict[str, Any]:
        running = self._thread is not None and self._thread.is_alive()
        return {
            "status": "ok" if running and not self._stop_consumer.is_set() else "stopping",
            "kafka": self.settings.bootstrap_servers(),
            "group": self.collector.group_id,
            "assigned_partitions": self.collector.assigned_partitions,
            "consumed": self.collector.consumed,
            "database": str(self.settings.collector_database()),
            "rows": {table: self.store.count(table) for table in TABLES},
        }

    async def run(self, stop: asyncio.Event) -> int:
        """Serve until ``stop`` is set or the consumer fails; 0 on a clean stop, else 1."""
        loop = asyncio.get_running_loop()

        def consume() -> None:
            try:
                self.collector.run(self._stop_consumer)
            except BaseException as exc:  # the service must stop, not serve without a consumer
                self.failure = exc
                log.exception("consumer failed")
            finally:
                loop.call_soon_threadsafe(stop.set)

        host, port = self.settings.collector.host, self.settings.collector.port
        try:
            shown = self.collector.reload_gauges()
            try:
                await self.http.start(host, port)
            except OSError as exc:
                raise CollectorError(f"cannot listen on {host}:{port}: {exc}") from exc
            log.info(
                "collector listening",
                extra={
                    "http": f"{host}:{self.http.port}",
                    "database": str(self.settings.collector_database()),
                    "bots_reloaded": shown,
                },
            )
            self._thread = threading.Thread(target=consume, name="collector-consumer", daemon=True)
            self._thread.start()
            await stop.wait()
        finally:
            log.info("shutting down: committing stored offsets")
            self._stop_consumer.set()
            if self._thread is not None:
                await asyncio.to_thread(self._thread.join)
            await self.http.stop()
            self.store.close()
        return 1 if self.failure else 0


async def serve(settings: Settings) -> int:
    service = CollectorService(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await service.run(stop)


def run_collector(settings: Settings) -> int:
    start_service(settings, "collector")
    return asyncio.run(serve(settings))
