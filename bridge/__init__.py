"""The TCP bridge from MT4 EAs into Kafka, and the EA side of its protocol.

`protocol` parses and builds frames (spec: ``bridge/PROTOCOL.md``); `server` and `session`
accept EA connections, validate and publish their events and ack what Kafka confirmed;
`publisher` is the asyncio face of the Kafka producer; `client` is the EA side (numbering,
spooling, replay); `simulator` drives simulated Observer EAs with rule-based bots.
"""

from importlib import import_module
from typing import Any

from botcopier.bridge.exceptions import BridgeError, FrameError

# Imported on first use: the router and other light commands live in this package, and
# loading the server (Kafka clients, codecs, telemetry) for them would cost every process.
_LAZY = {
    "EaClient": "botcopier.bridge.client",
    "BridgeServer": "botcopier.bridge.server",
    "EVENT_KINDS": "botcopier.bridge.protocol",
    "PROTOCOL_VERSION": "botcopier.bridge.protocol",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'botcopier.bridge' has no attribute {name!r}")


__all__ = [
    "EVENT_KINDS",
    "PROTOCOL_VERSION",
    "BridgeError",
    "BridgeServer",
    "EaClient",
    "FrameError",
]
