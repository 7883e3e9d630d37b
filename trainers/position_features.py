"""What an EA knows of its own trades when it decides: the position's age and P/L, the last entry.

Bots act on their own state as much as on the chart: close after 24 bars, no new entry for
5 bars after an exit, a second ticket only while the first is in profit. These features
read the state columns of the bar frame (`botcopier.trainers.labels.STATE_COLUMNS`, filled by
`position_state` from the bot's trades when training; by the simulated trades when
backtesting) and in MQL4 the EA's own orders, through ``Features.mqh``:

- ``position_bars``: bars since the oldest open order opened (0 when flat), MQL4
  ``iBarShift`` of its ``OrderOpenTime`` while the next bar is open;
- ``position_pl_atr``: that order's price gain since it opened, on the side held, in
  ATR(14) units at the close just made (0 when flat);
- ``bars_since_entry`` / ``bars_since_exit``: bars since the last order opened / closed (any
  close, a partial one too, as the account history lists it), ``STATE_CAP_BARS`` when there
  was none or it lies further back;
- ``open_tickets``: how many market orders are open.

A time ``t`` is ``k`` bars back when the bar it fell in (the last one opened at or before
``t``) is ``k`` bars before the bar opening now, as ``iBarShift(NULL, 0, t, false)`` counts.

Examples
--------
>>> import pandas as pd
>>> bars = pd.DataFrame({"time_ms": [0, 60_000, 120_000, 180_000], "timeframe_minutes": 1,
...     "high": 1.2, "low": 1.0, "close": 1.1, "position": [0, 1, 1, 0],
...     "entry_ms": [-1, 60_000, 60_000, -1], "entry_price": [0.0, 1.05, 1.05, 0.0],
...     "last_entry_ms": [-1, 60_000, 60_000, 60_000],
...     "last_exit_ms": [-1, -1, -1, 150_000], "open_tickets": [0, 1, 1, 0]})
>>> POSITION_FEATURES[0].compute(bars).tolist()  # position_bars
[0.0, 1.0, 2.0, 0.0]
>>> POSITION_FEATURES[3].compute(bars).tolist()  # bars_since_exit
[500.0, 500.0, 500.0, 2.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from botcopier.trainers import indicators as ind
from botcopier.trainers.feature_base import Feature, column, safe_div

STATE_CAP_BARS = 500


def bars_since(bars: pd.DataFrame, times_ms: np.ndarray, cap: int = STATE_CAP_BARS) -> np.ndarray:
    """For each row, how many bars back (as iBarShift counts from the next bar) ``times_ms``
    of that row lies; ``cap`` for none (a negative time) or further back than ``cap``."""
    opens = bars["time_ms"].to_numpy(dtype=np.int64)
    times_ms = np.asarray(times_ms, dtype=np.int64)
    home = np.searchsorted(opens, times_ms, side="right") - 1
    back = np.arange(len(opens)) + 1 - home
    return np.where(times_ms < 0, cap, np.minimum(back, cap)).astype(float)


def _age(bars: pd.DataFrame) -> np.ndarray:
    entry = bars["entry_ms"].to_numpy(dtype=np.int64)
    return np.where(entry < 0, 0.0, bars_since(bars, entry, cap=np.iinfo(np.int32).max))


def _profit_in_atr(bars: pd.DataFrame) -> np.ndarray:
    side = column(bars, "position")
    gain = side * (column(bars, "close") - column(bars, "entry_price"))
    atr = ind.atr(column(bars, "high"), column(bars, "low"), column(bars, "close"), 14)
    flat = bars["entry_ms"].to_numpy(dtype=np.int64) < 0
    return np.where(flat, 0.0, safe_div(gain, atr, 0.0))


POSITION_FEATURES: tuple[Feature, ...] = (
    Feature("position_bars", _age, "(double)BcPositionAgeBars(MagicNumber)", 0,
            "bars since the oldest open order opened (0 when flat)"),
    Feature("position_pl_atr", _profit_in_atr, "BcPositionProfitAtr(MagicNumber,iATR(NULL,0,14,1))",
            14, "the oldest open order's gain on its side since it opened, in ATR(14)"),
    Feature("bars_since_entry", lambda b: bars_since(b, b["last_entry_ms"].to_numpy()),
            f"(double)BcBarsSinceEntry(MagicNumber,{STATE_CAP_BARS})", 0,
            f"bars since the last order opened (at most {STATE_CAP_BARS})"),
    Feature("bars_since_exit", lambda b: bars_since(b, b["last_exit_ms"].to_numpy()),
            f"(double)BcBarsSinceExit(MagicNumber,{STATE_CAP_BARS})", 0,
            f"bars since the last order closed (at most {STATE_CAP_BARS})"),
    Feature("open_tickets", lambda b: column(b, "open_tickets"),
            "(double)BcOpenTickets(MagicNumber)", 0, "market orders open"),
)  # fmt: skip
