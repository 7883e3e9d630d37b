"""The market a backtest runs on: one symbol's bars of one timeframe, from a bars or ticks CSV.

`load_market` tells the two apart by the header (``bid`` and ``ask`` columns: ticks) and
returns a bar frame with the columns of the Bar schema, oldest first.

- **Bars**: any file `read_bars_csv` reads; a file without a symbol column holds the model's
  symbol. Only the bars of the model's symbol and timeframe are kept.
- **Ticks**: the seed's ``time;bid;ask`` and its exporter's ``time;bid;ask;last;volume``
  (read as `botcopier import ticks` reads them). `ticks_to_bars` cuts them into bars of the
  timeframe, each starting at a multiple of it since the epoch (UTC): open, high, low and
  close of the bid (MT4 charts bid prices), ``tick_volume`` the tick count and
  ``spread_points`` the spread of the bar's *first* tick, in points: what an order sent at
  the bar's open pays. Periods without a tick have no bar, as in MT4.

Examples
--------
>>> ticks = [(0, 1.1000, 1.1001), (20_000, 1.1004, 1.1006), (65_000, 1.0990, 1.0991)]
>>> bars = ticks_to_bars(ticks, "EURUSD", timeframe_minutes=1, point=0.00001)
>>> bars[["time_ms", "open", "high", "close", "tick_volume", "spread_points"]].to_dict("list")
{'time_ms': [0, 60000], 'open': [1.1, 1.099], 'high': [1.1004, 1.099], 'close': [1.1004, 1.099], \
'tick_volume': [2, 1], 'spread_points': [10, 10]}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from botcopier.bridge.simulator.market import read_bars_csv
from botcopier.exceptions import BotCopierError
from botcopier.trainers.seed_csv import RowProblem, open_table
from botcopier.trainers.seed_logs import ImportOptions
from botcopier.trainers.seed_market import TickLog

_MINUTE_MS = 60_000
BAR_COLUMNS = [
    "symbol", "time_ms", "timeframe_minutes", "open", "high", "low", "close", "tick_volume",
    "spread_points",
]  # fmt: skip


class MarketError(BotCopierError):
    """The market file has no usable bars of the model's symbol and timeframe."""


def is_tick_file(path: Path) -> bool:
    """True when the header names ``bid`` and ``ask`` (any case, MT5 brackets too)."""
    with open_table(path) as table:
        return {"bid", "ask"} <= set(TickLog.canonical(table.columns))


def ticks_to_bars(
    ticks: Iterable[tuple[int, float, float]], symbol: str, *, timeframe_minutes: int, point: float
) -> pd.DataFrame:
    """Bars of ``timeframe_minutes`` from ``(time_ms, bid, ask)`` ticks in time order."""
    step_ms = timeframe_minutes * _MINUTE_MS
    rows: list[dict] = []
    for time_ms, bid, ask in ticks:
        start_ms = time_ms - time_ms % step_ms
        if rows and start_ms < rows[-1]["time_ms"]:
            raise MarketError(f"tick at {time_ms} ms comes after a later one: ticks out of order")
        if not rows or start_ms != rows[-1]["time_ms"]:
            rows.append({
                "symbol": symbol, "time_ms": start_ms, "timeframe_minutes": timeframe_minutes,
                "open": bid, "high": bid, "low": bid, "close": bid, "tick_volume": 0,
                "spread_points": round((ask - bid) / point),
            })  # fmt: skip
        bar = rows[-1]
        bar["high"], bar["low"], bar["close"] = max(bar["high"], bid), min(bar["low"], bid), bid
        bar["tick_volume"] += 1
    return pd.DataFrame(rows, columns=BAR_COLUMNS)


def _read_ticks(path: Path, symbol: str) -> list[tuple[str, int, float, float]]:
    kind = TickLog(ImportOptions(symbol=symbol))
    ticks = []
    with open_table(path) as table:
        for item in kind.scan(table):
            if isinstance(item, RowProblem):
                raise MarketError(str(item))
            record = item.record
            ticks.append((record["symbol"], record["event_time_ms"], record["bid"], record["ask"]))
    return ticks


def load_market(
    path: Path, *, symbol: str, timeframe_minutes: int, point: float
) -> tuple[pd.DataFrame, str]:
    """The bars of ``symbol`` and ``timeframe_minutes`` in ``path``, and ``"bars"``/``"ticks"``.

    Raises
    ------
    MarketError
        When the file holds no bars (or ticks) of that symbol and timeframe.
    """
    path = Path(path)
    if not path.is_file():
        raise MarketError(f"{path}: no such file")
    if is_tick_file(path):
        ticks = [t[1:] for t in _read_ticks(path, symbol) if t[0] == symbol]
        if not ticks:
            raise MarketError(f"{path} has no {symbol} ticks")
        ticks.sort(key=lambda tick: tick[0])  # stable: ticks of one second keep file order
        bars = ticks_to_bars(ticks, symbol, timeframe_minutes=timeframe_minutes, point=point)
        return bars, "ticks"
    with path.open(encoding="utf-8-sig") as handle:
        named = "symbol" in handle.readline().lower()
    every = list(read_bars_csv(path, symbol=None if named else symbol))
    mine = [bar for bar in every if bar.symbol == symbol]
    if not mine:
        found = sorted({bar.symbol for bar in every})
        raise MarketError(f"{path} has no {symbol} bars (symbols in it: {found or 'none'})")
    frame = [dataclasses.asdict(b) for b in mine if b.timeframe_minutes == timeframe_minutes]
    if not frame:
        found = sorted({bar.timeframe_minutes for bar in mine})
        raise MarketError(
            f"{path} has no {symbol} bars of {timeframe_minutes} minutes, the model's timeframe "
            f"(its {symbol} bars are of {found} minutes)"
        )
    return pd.DataFrame(frame, columns=BAR_COLUMNS), "bars"
