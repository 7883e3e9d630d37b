"""Runs the bridge as a service until SIGTERM or SIGINT, then shuts down gracefully.

SIGHUP re-reads ``[bridge.tokens]`` (the config file and the ``BOTCOPIER_BRIDGE__TOKENS__*``
variables the process started with): how a token is rotated without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from botcopier.bridge.server import BridgeServer
from botcopier.config import Settings, split_tokens
from botcopier.exceptions import BotCopierError
from botcopier.logs import add_secrets
from botcopier.run_record import start_service

log = logging.getLogger("botcopier.bridge")

TokenSource = Callable[[], Mapping[str, SecretStr]]


async def serve(settings: Settings, reload_tokens: TokenSource | None = None) -> None:
    server = BridgeServer(settings)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task] = set()
    if reload_tokens is not None:

        def on_hangup() -> None:
            task = loop.create_task(_reload(server, reload_tokens))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hangup)
    await stop.wait()
    log.info("shutting down: flushing in-flight events")
    await server.shutdown()


async def _reload(server: BridgeServer, reload_tokens: TokenSource) -> None:
    try:
        tokens = reload_tokens()
    except BotCopierError as exc:
        # A broken edit must not lock every EA out: the tokens in force stay.
        log.error("SIGHUP: tokens not reloaded, the old ones stay", extra={"error": str(exc)})
        return
    add_secrets(
        part for token in tokens.values() for part in split_tokens(token.get_secret_value())
    )
    await server.reload_tokens(tokens)


def run_bridge(settings: Settings, reload_tokens: TokenSource | None = None) -> int:
    start_service(settings, "bridge")
    if not settings.bridge.tokens and not settings.bridge.allow_unknown_eas:
        log.warning(
            "no [bridge.tokens] configured: every EA will be refused "
            "(set BOTCOPIER_BRIDGE__TOKENS__<EA_ID>=<token>)"
        )
    asyncio.run(serve(settings, reload_tokens))
    return 0
