"""Runs the dashboard (`botcopier dashboard`): Kafka feed, view, event streams, HTTP.

The feed's thread hands each decoded batch to the event loop (``call_soon_threadsafe``);
from there the hub updates the view and queues the items for every open page.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from botcopier.config import Settings
from botcopier.exceptions import BotCopierError
from botcopier.streams.dashboard_auth import DashboardAuth
from botcopier.streams.dashboard_feed import Batch, DashboardFeed
from botcopier.streams.dashboard_http import DashboardHttp
from botcopier.streams.dashboard_hub import DashboardHub
from botcopier.streams.dashboard_metrics import DashboardMetrics
from botcopier.streams.dashboard_view import DashboardView

log = logging.getLogger("botcopier.dashboard")


class DashboardError(BotCopierError):
    """The dashboard could not start."""


class DashboardService:
    def __init__(self, settings: Settings, auth: DashboardAuth, history: int = 200) -> None:
        self.settings, self.auth, self.history = settings, auth, history
        self.metrics = DashboardMetrics()
        self.hub = DashboardHub(DashboardView(), self.metrics)
        self.http = DashboardHttp(self.hub, auth, self.health)
        self.feed: DashboardFeed | None = None

    def health(self) -> dict[str, Any]:
        feed = self.feed
        running = feed is not None and feed.running
        return {
            "status": "ok" if running else "stopping",
            "kafka": self.settings.bootstrap_servers(),
            "assigned_partitions": feed.assigned_partitions if feed else 0,
            "sse_clients": self.hub.clients,
            "bots": len(self.hub.view.bots),
            "auth": "token" if self.auth.required else "none (loopback)",
        }

    async def run(self, host: str, port: int, stop: asyncio.Event) -> int:
        """Serve until ``stop`` is set (0) or the Kafka feed fails (1)."""
        loop = asyncio.get_running_loop()

        def deliver(batch: Batch) -> None:
            loop.call_soon_threadsafe(self.hub.publish, batch)

        self.feed = DashboardFeed(self.settings, deliver, self.metrics, history=self.history)
        try:
            await asyncio.to_thread(self.feed.start)
            try:
                await self.http.start(host, port)
            except OSError as exc:
                raise DashboardError(f"cannot listen on {host}:{port}: {exc}") from exc
            log.info(
                "dashboard listening",
                extra={"url": f"http://{host}:{self.http.port}/", "auth": self.auth.required},
            )
            while not stop.is_set() and self.feed.running:
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    pass
        finally:
            await self.http.stop()
            await asyncio.to_thread(self.feed.stop)
        return 1 if self.feed.failure else 0


async def serve(settings: Settings, auth: DashboardAuth, host: str, port: int, history: int):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await DashboardService(settings, auth, history).run(host, port, stop)


def run_dashboard(settings: Settings, auth: DashboardAuth, host: str, port: int, history: int):
    from botcopier.run_record import start_service
    from botcopier.telemetry import tracer

    start_service(settings, "dashboard")
    tracer("dashboard")
    return asyncio.run(serve(settings, auth, host, port, history))
