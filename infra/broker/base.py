"""The extension point for local brokers: prepare what is needed and say how to run it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from botcopier.config import Settings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LaunchPlan:
    """A ready-to-run broker command."""

    argv: list[str]
    version: str
    # Does a restart keep the log? (Tansu's memory store does not.)
    persistent: bool
    # A word in the process's command line that proves a pid is still this broker.
    cmdline_marker: str


class BrokerLauncher(ABC):
    """Knows how to run one kind of Kafka-compatible broker on this machine."""

    kind: ClassVar[str]
    display_name: ClassVar[str]

    def __init__(self, settings: Settings, progress: Progress) -> None:
        self.settings = settings
        self.progress = progress

    @property
    def broker_dir(self) -> Path:
        return self.settings.broker_dir()

    @abstractmethod
    def unavailable_reason(self) -> str | None:
        """Why this broker cannot run here, or None when it can (cheap: no downloads)."""

    @abstractmethod
    def prepare(self) -> LaunchPlan:
        """Fetch, configure and format whatever the broker needs; return how to run it.

        Raises `BrokerUnavailableError` when something it needs cannot be had here.
        """
