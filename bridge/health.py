"""HTTP endpoints of the bridge: ``/healthz`` (JSON) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from botcopier.bridge.server import BridgeServer


class HealthServer:
    def __init__(self, bridge: BridgeServer) -> None:
        self._bridge = bridge
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        bridge = self._bridge
        queue = bridge.publisher.queue_depth()
        body = {
            "status": "ok" if bridge.serving else "stopping",
            "connections": sum(1 for state in bridge.eas.values() if state.session),
            "producer_queue_depth": queue,
            "kafka": bridge.settings.bootstrap_servers(),
        }
        return web.json_response(body, status=200 if bridge.serving else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        self._bridge.metrics.producer_queue.set(self._bridge.publisher.queue_depth())
        return web.Response(
            body=generate_latest(self._bridge.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )
