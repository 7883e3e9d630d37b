"""Market data and rule-based bots for the EA simulator (``botcopier simulate``).

`market` makes the bars the simulator replays: a seeded random walk, or MT4 history read from
CSV. `ledger` is the paper account the bots trade. `bots` holds the simulated bots that trade
those bars and report each open, modification and close as TradeEvent fields, the way the
Observer EA would see them. Everything here is deterministic for a given seed and needs no
network.
"""

from botcopier.bridge.simulator.bots import (
    BreakoutBot,
    FadingEdgeBot,
    MovingAverageCrossBot,
    RsiReversionBot,
    SimulatedBot,
    WilderRsi,
    default_bots,
)
from botcopier.bridge.simulator.exceptions import LedgerError, MarketDataError, SimulatorError
from botcopier.bridge.simulator.ledger import Order, PaperAccount
from botcopier.bridge.simulator.market import Bar, parse_time_ms, random_walk_bars, read_bars_csv

__all__ = [
    "Bar",
    "BreakoutBot",
    "FadingEdgeBot",
    "LedgerError",
    "MarketDataError",
    "MovingAverageCrossBot",
    "Order",
    "PaperAccount",
    "RsiReversionBot",
    "SimulatedBot",
    "SimulatorError",
    "WilderRsi",
    "default_bots",
    "parse_time_ms",
    "random_walk_bars",
    "read_bars_csv",
]
