"""The TCP bridge from MT4 EAs into Kafka, and the EA side of its protocol.

`protocol` parses and builds frames (spec: ``bridge/PROTOCOL.md``); `server` and `session`
accept EA connections, validate and publish their events and ack what Kafka confirmed;
`publisher` is the asyncio face of the Kafka producer; `client` is the EA side (numbering,
spooling, replay); `simulator` drives simulated Observer EAs with rule-based bots.
"""

from botcopier.bridge.client import EaClient
from botcopier.bridge.exceptions import BridgeError, FrameError
from botcopier.bridge.protocol import EVENT_KINDS, PROTOCOL_VERSION
from botcopier.bridge.server import BridgeServer

__all__ = [
    "EVENT_KINDS",
    "PROTOCOL_VERSION",
    "BridgeError",
    "BridgeServer",
    "EaClient",
    "FrameError",
]
