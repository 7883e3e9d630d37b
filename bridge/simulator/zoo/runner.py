"""Running a bot over bars into trade events, as the Observer EA would have logged them.

Examples
--------
>>> from botcopier.bridge.simulator.history import real_bars
>>> run = run_zoo_bot("ema-8-21", real_bars("EURUSD", "H1"))
>>> run.events[0]["action"], run.events[0]["event_time_ms"] == run.events[0]["open_time_ms"]
('OPEN', True)
>>> len(run.decisions) == len(run.positions) == 5000
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from botcopier.bridge.simulator.bots import SimulatedBot
from botcopier.bridge.simulator.history import SYMBOLS
from botcopier.bridge.simulator.ledger import PaperAccount
from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo.base import ZooBot
from botcopier.bridge.simulator.zoo.registry import ZOO


def run_bot(bot: SimulatedBot, bars: Iterable[Bar]) -> list[dict[str, Any]]:
    """Feed ``bars`` to ``bot`` in order; its trade events, each with ``event_time_ms``.

    An event's time is its close time for a close, else the close of the bar it was made on
    (when the bot acted): what the trainers' ``label_bars`` places on bars.
    """
    events: list[dict[str, Any]] = []
    for bar in bars:
        for action in bot.on_bar(bar):
            events.append({**action, "event_time_ms": action["close_time_ms"] or bar.end_ms})
    return events


@dataclass(frozen=True)
class ZooRun:
    """One zoo bot's run over one bar list: its events and, per bar, what it decided."""

    bot: str
    events: list[dict[str, Any]]
    decisions: list[str]  # none / buy / sell / close per bar, as the bot chose
    positions: list[int]  # the side it held when it decided: 1, -1, 0

    @property
    def entries(self) -> int:
        """Bars on which it opened a position (a pyramid's added ticket counts)."""
        return sum(decision in ("buy", "sell") for decision in self.decisions)


def make_zoo_bot(
    name: str,
    bars: Sequence[Bar],
    *,
    account: PaperAccount | None = None,
    digits: int | None = None,
) -> ZooBot:
    """The zoo bot called ``name`` attached to ``bars`` (digits from `SYMBOLS` when known)."""
    try:
        cls = ZOO[name]
    except KeyError:
        raise ValueError(f"no zoo bot {name!r}; have {sorted(ZOO)}") from None
    if digits is None:
        spec = SYMBOLS.get(bars[0].symbol) if bars else None
        digits = spec.digits if spec else 5
    return cls(bars, account=account, digits=digits)


def run_zoo_bot(
    name: str, bars: Sequence[Bar], *, seed: int = 0, digits: int | None = None
) -> ZooRun:
    """Run zoo bot ``name`` over ``bars`` on a fresh paper account seeded by ``seed``."""
    bot = make_zoo_bot(name, bars, account=PaperAccount(seed), digits=digits)
    events = run_bot(bot, bars)
    return ZooRun(name, events, list(bot.decisions), list(bot.positions))
