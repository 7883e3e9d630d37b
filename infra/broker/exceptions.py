"""Errors of the local broker launchers."""

from botcopier.exceptions import BotCopierError


class BrokerError(BotCopierError):
    """The local broker could not be started, stopped or inspected."""


class BrokerUnavailableError(BrokerError):
    """This kind of broker cannot run here (no Java, no Maven Central, no binary)."""


class BrokerStartError(BrokerError):
    """The broker process was launched but did not become ready."""
