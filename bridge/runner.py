"""Runs the bridge as a service until SIGTERM or SIGINT, then shuts down gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal

from botcopier.bridge.server import BridgeServer
from botcopier.config import Settings
from botcopier.run_record import start_service

log = logging.getLogger("botcopier.bridge")


async def serve(settings: Settings) -> None:
    server = BridgeServer(settings)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: flushing in-flight events")
    await server.shutdown()


def run_bridge(settings: Settings) -> int:
    start_service(settings, "bridge")
    if not settings.bridge.tokens and not settings.bridge.allow_unknown_eas:
        log.warning(
            "no [bridge.tokens] configured: every EA will be refused "
            "(set BOTCOPIER_BRIDGE__TOKENS__<EA_ID>=<token>)"
        )
    asyncio.run(serve(settings))
    return 0
