"""HTTP endpoints of the collector.

``GET /metrics?limit=N``
    JSON ``{"limit": N, "bot_metrics": [...], "ea_metrics": [...]}``: the N newest rows of
    each table (by event time), newest first. N defaults to 100, at most 10,000; anything
    else is a 400 with ``{"error": ...}``.
``GET /prometheus``
    The Prometheus text exposition (see `botcopier.streams.collector_metrics`). It is not at
    ``/metrics`` because that name serves the JSON history.
``GET /healthz``
    JSON status; 503 while stopping.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from botcopier.streams.collector_metrics import CollectorMetrics
from botcopier.streams.metrics_store import TABLES, MetricsStore

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


def parse_limit(text: str | None) -> int:
    """The ``limit`` query parameter as a row count; ValueError says what is wrong.

    >>> parse_limit(None), parse_limit("2")
    (100, 2)
    >>> parse_limit("abc")
    Traceback (most recent call last):
    ...
    ValueError: limit must be a whole number from 1 to 10000, got 'abc'
    """
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {text!r}")
    return limit


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    # JSON has no Infinity: an EA's Sharpe over identical trades must not break the reply.
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in row.items()
    }


class CollectorHttp:
    def __init__(
        self,
        store: MetricsStore,
        metrics: CollectorMetrics,
        health: Callable[[], dict[str, Any]],
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._health = health
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._history)
        app.router.add_get("/prometheus", self._prometheus)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _history(self, request: web.Request) -> web.Response:
        try:
            limit = parse_limit(request.query.get("limit"))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        body: dict[str, Any] = {"limit": limit}
        for table in TABLES:
            # Off the event loop: a large read must not stall /prometheus scrapes.
            rows = await asyncio.to_thread(self._store.newest, table, limit)
            body[table] = [_json_safe(row) for row in rows]
        return web.json_response(body)

    async def _prometheus(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self._metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    async def _healthz(self, _request: web.Request) -> web.Response:
        body = self._health()
        return web.json_response(body, status=200 if body.get("status") == "ok" else 503)
