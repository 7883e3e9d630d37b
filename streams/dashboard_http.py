"""The dashboard's HTTP side (aiohttp).

``GET /``, ``GET /static/<file>``
    The page and its script and style (package data in ``dashboard_static/``). No token
    needed: the page asks for it.
``GET /api/snapshot``
    JSON: everything the view holds (see `botcopier.streams.dashboard_view`). Token needed.
``GET /api/events``
    Server-Sent Events: a ``snapshot`` event, then ``records`` events (a JSON list of items
    each) as they arrive; a comment line every ``keepalive_s`` keeps proxies from closing an
    idle stream. Token needed.
``GET /healthz``, ``GET /metrics``
    JSON status and the Prometheus series; no token (no trading data in them).

Data requests without the right token get 401 (counted). Nothing logs requests, so a token
sent as a query parameter never reaches a log. Responses forbid inline scripts and any
other origin (the page needs neither).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from botcopier.streams.dashboard_auth import DashboardAuth
from botcopier.streams.dashboard_hub import DashboardHub

STATIC_FILES = {
    "index.html": "text/html",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def sse_message(event: str, data: Any) -> bytes:
    """One Server-Sent Events message; JSON keeps ``data`` on one line.

    >>> sse_message("records", [{"feed": "trade"}])
    b'event: records\\ndata: [{"feed":"trade"}]\\n\\n'
    """
    body = json.dumps(data, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {body}\n\n".encode()


def load_static() -> dict[str, bytes]:
    folder = resources.files("botcopier.streams") / "dashboard_static"
    return {name: (folder / name).read_bytes() for name in STATIC_FILES}


class DashboardHttp:
    def __init__(
        self,
        hub: DashboardHub,
        auth: DashboardAuth,
        health: Callable[[], dict[str, Any]],
        keepalive_s: float = 15.0,
    ) -> None:
        self.hub, self.auth, self.health = hub, auth, health
        self.keepalive_s = keepalive_s
        self._static = load_static()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers])
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._file)
        app.router.add_get("/api/snapshot", self._guarded(self._snapshot))
        app.router.add_get("/api/events", self._guarded(self._events))
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self, host: str, port: int) -> None:
        # access_log=None: a query-string token must never be written anywhere.
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.hub.close()  # open event streams end, so the server need not wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:  # an event stream set its headers before streaming
            response.headers.update(_SECURITY_HEADERS)
        return response

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.auth.allows(
                request.headers.get("Authorization"), request.query.get("token")
            ):
                self.hub.metrics.unauthorized.inc()
                return web.json_response(
                    {"error": "missing or wrong token"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="botcopier-dashboard"'},
                )
            return await handler(request)

        return guarded

    async def _page(self, _request: web.Request) -> web.Response:
        return self._serve("index.html")

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES or name == "index.html":
            raise web.HTTPNotFound()
        return self._serve(name)

    def _serve(self, name: str) -> web.Response:
        return web.Response(
            body=self._static[name], content_type=STATIC_FILES[name], charset="utf-8"
        )

    async def _snapshot(self, _request: web.Request) -> web.Response:
        return web.json_response(self.hub.view.snapshot())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                **_SECURITY_HEADERS,
                "Content-Type": "text/event-stream",
                # Reverse proxies must pass each event on at once, not buffer the stream.
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        subscriber = self.hub.subscribe()
        try:
            while True:
                kind, data = await subscriber.next(timeout_s=self.keepalive_s)
                if kind == "closed":
                    break
                if kind == "idle":
                    await response.write(b": keep-alive\n\n")
                else:
                    await response.write(sse_message(kind, data))
        except ConnectionError:
            pass  # the page went away
        finally:
            self.hub.unsubscribe(subscriber)
        return response

    async def _healthz(self, _request: web.Request) -> web.Response:
        body = self.health()
        return web.json_response(body, status=200 if body.get("status") == "ok" else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.hub.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )
