"""Errors of the bridge and its protocol."""

from __future__ import annotations

from botcopier.exceptions import BotCopierError


class BridgeError(BotCopierError):
    """Base class for bridge errors."""


class FrameError(BridgeError):
    """A frame broke the protocol; ``code`` is the wire error code (see PROTOCOL.md)."""

    def __init__(self, code: str, reason: str, seq: int | None = None, fatal: bool = False) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.seq = seq
        self.fatal = fatal


class RouterError(BridgeError):
    """The model router was asked something it cannot do (unknown arm, bad reward, ...)."""


class RouterStateError(RouterError):
    """The router's state file cannot be read back; it is left as it is."""
