"""librdkafka configuration for BotCopier's producers, consumers and admin clients.

Settings merge as ``{**defaults, **settings.kafka.client, **forced}``: the user may tune
anything except the few properties the delivery guarantees depend on.
"""

from __future__ import annotations

from typing import Any

from botcopier.config import Settings

_COMMON: dict[str, Any] = {
    # Log through Python's logging, not stderr, so services keep structured logs.
    "log_level": 3,
}

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
    return {"bootstrap.servers": settings.kafka.bootstrap(), **_COMMON}


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
