"""Market data and rule-based bots for the EA simulator (``botcopier simulate``).

`market` makes the bars the simulator replays: a seeded random walk, or MT4 history read from
CSV; `history` serves real EURUSD H1 and GOOG D1 history (shipped by the ``backtesting``
package). `ledger` is the paper account the bots trade. `bots` holds the simulated bots that
trade those bars and report each open, modification and close as TradeEvent fields, the way
the Observer EA would see them; `zoo` holds many more, in the style of common MT4 EAs.
Everything here is deterministic for a given seed and needs no network.
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
from botcopier.bridge.simulator.exceptions import (
    HistoryUnavailableError,
    LedgerError,
    MarketDataError,
    SimulatorError,
)
from botcopier.bridge.simulator.history import (
    DATASETS,
    dataset_bars,
    real_bar_frame,
    real_bars,
    resample_bars,
)
from botcopier.bridge.simulator.ledger import Order, PaperAccount
from botcopier.bridge.simulator.market import Bar, parse_time_ms, random_walk_bars, read_bars_csv

__all__ = [
    "DATASETS",
    "Bar",
    "BreakoutBot",
    "FadingEdgeBot",
    "HistoryUnavailableError",
    "LedgerError",
    "MarketDataError",
    "MovingAverageCrossBot",
    "Order",
    "PaperAccount",
    "RsiReversionBot",
    "SimulatedBot",
    "SimulatorError",
    "WilderRsi",
    "dataset_bars",
    "default_bots",
    "parse_time_ms",
    "random_walk_bars",
    "read_bars_csv",
    "real_bar_frame",
    "real_bars",
    "resample_bars",
]
