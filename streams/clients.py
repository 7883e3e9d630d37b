"""librdkafka configuration for BotCopier's producers, consumers and admin clients.

Settings merge as ``{**defaults, **settings.kafka.client, **forced}``: the user may tune
anything except the few properties the delivery guarantees depend on.
"""

from __future__ import annotations

import logging
from typing import Any

from botcopier.config import Settings
from botcopier.streams.client_logs import ClientLogger

# librdkafka logs go through Python's logging (not straight to stderr) so services keep one
# log stream; level 4 (warning) drops the connection chatter.
_KAFKA_LOGGER = logging.getLogger("botcopier.kafka")
_LOG_LEVEL = 4

_PRODUCER_DEFAULTS: dict[str, Any] = {
    "compression.type": "lz4",
    "linger.ms": 5,
}
_PRODUCER_FORCED: dict[str, Any] = {
    # EA events must be neither lost nor reordered on retry: the bridge acks only what
    # every in-sync replica holds.
    "acks": "all",
    "enable.idempotence": True,
}

_CONSUMER_DEFAULTS: dict[str, Any] = {
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
}


def _base(settings: Settings) -> dict[str, Any]:
    # One ClientLogger per client: its grace for a loading coordinator starts with the client.
    return {
        "bootstrap.servers": settings.bootstrap_servers(),
        "logger": ClientLogger(_KAFKA_LOGGER),
        "log_level": _LOG_LEVEL,
    }


def admin_config(settings: Settings) -> dict[str, Any]:
    return {**_base(settings), **settings.kafka.client}


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    return {
        **_base(settings),
        **_PRODUCER_DEFAULTS,
        **settings.kafka.client,
        **overrides,
        **_PRODUCER_FORCED,
    }


def consumer_config(settings: Settings, group_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        **_base(settings),
        **_CONSUMER_DEFAULTS,
        **settings.kafka.client,
        **overrides,
        "group.id": group_id,
    }
