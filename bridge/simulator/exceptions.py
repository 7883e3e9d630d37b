"""Errors of the EA simulator's market data and paper ledger."""

from __future__ import annotations

from pathlib import Path

from botcopier.exceptions import BotCopierError


class SimulatorError(BotCopierError):
    """Base class for errors of the EA simulator."""


class MarketDataError(SimulatorError):
    """A history file cannot be read as bars; the message names the file, line and problem."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        super().__init__(f"{path}, line {line}: {problem}")
        self.path = Path(path)
        self.line = line
        self.problem = problem


class LedgerError(SimulatorError):
    """A bot asked the paper account for something MT4 would refuse (unknown ticket, bad lots)."""


class HistoryUnavailableError(SimulatorError):
    """The real market history cannot be found: the package that ships it is not installed."""
