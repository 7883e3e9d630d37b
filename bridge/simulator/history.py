"""Real market history for the simulator: the OHLC files the ``backtesting`` package ships.

``backtesting`` (kernc/backtesting.py, a dev extra here) carries two real histories in its
``test`` folder, read straight from the installed files (importing the package would pull in
bokeh):

- ``EURUSD.csv``: 5,000 EURUSD H1 bars, 2017-04-19 09:00 to 2018-02-07 15:00. Naive
  timestamps, ``YYYY-MM-DD HH:MM:SS``, each the bar's open time in UTC: every week opens on
  Sunday at 21:00 (summer) or 22:00 (winter), which is 17:00 New York, the FX week's open in
  UTC. Five-decimal prices; the volume column is a tick count.
- ``GOOG.csv``: 2,148 GOOG daily bars of US trading days, 2004-08-19 to 2013-03-01. Dates
  only (``YYYY-MM-DD``), read as 00:00 UTC of that day; two-decimal prices; share volume.

Neither file has a spread, so each symbol gets a fixed one (`SYMBOLS`): 10 points (1 pip) on
EURUSD, 10 points ($0.10) on GOOG. Longer timeframes are resampled from the native bars into
buckets aligned on UTC midnight (an H4 bar opens at 00, 04, 08 … UTC), keeping partial
buckets (a week's Sunday-evening bars, the first bars of the file) as MT4 keeps them.

Examples
--------
>>> bars = real_bars("EURUSD", "H1")
>>> len(bars), bars[0].timeframe_minutes, bars[0].spread_points, bars[0].close
(5000, 60, 10, 1.07219)
>>> len(real_bars("EURUSD", "H4")), len(real_bars("GOOG", "D1"))
(1292, 2148)
>>> from botcopier.bridge.simulator.market import random_walk_bars
>>> resampled = resample_bars(random_walk_bars("EURUSD", start_ms=0, count=8), 240)
>>> [(b.time_ms, b.timeframe_minutes) for b in resampled]
[(0, 240), (14400000, 240)]
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from botcopier.bridge.simulator.exceptions import HistoryUnavailableError, MarketDataError
from botcopier.bridge.simulator.market import Bar, parse_time_ms

PACKAGE = "backtesting"
TIMEFRAMES = {"M1": 1, "M5": 5, "M15": 15, "M30": 30, "H1": 60, "H4": 240, "D1": 1440}
_MINUTE_MS = 60_000


@dataclass(frozen=True)
class SymbolSpec:
    """One symbol's history file and how MT4 would quote it."""

    symbol: str
    file: str
    timeframe_minutes: int  # the file's own bars
    digits: int
    spread_points: int


SYMBOLS = {
    "EURUSD": SymbolSpec("EURUSD", "EURUSD.csv", 60, digits=5, spread_points=10),
    "GOOG": SymbolSpec("GOOG", "GOOG.csv", 1440, digits=2, spread_points=10),
}
# The histories the zoo runs on: name -> (symbol, timeframe).
DATASETS = {"EURUSD_H1": ("EURUSD", "H1"), "EURUSD_H4": ("EURUSD", "H4"), "GOOG_D1": ("GOOG", "D1")}


def history_folder() -> Path:
    """The installed ``backtesting/test`` folder that holds the CSV files.

    Raises
    ------
    HistoryUnavailableError
        When the ``backtesting`` package is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HistoryUnavailableError(
            f"real market bars come from the {PACKAGE!r} package, which is not installed: "
            f"pip install 'backtesting==0.6.6' (or the dev extras, pip install -e '.[dev]')"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "test"


def symbol_spec(symbol: str) -> SymbolSpec:
    try:
        return SYMBOLS[symbol]
    except KeyError:
        raise ValueError(f"no real history of {symbol!r}; have {sorted(SYMBOLS)}") from None


def timeframe_minutes(timeframe: str | int) -> int:
    """Minutes of an MT4 timeframe name (``"H4"`` -> 240); an int passes through.

    >>> timeframe_minutes("H4"), timeframe_minutes("D1"), timeframe_minutes(15)
    (240, 1440, 15)
    """
    if isinstance(timeframe, int):
        return timeframe
    try:
        return TIMEFRAMES[timeframe.upper()]
    except KeyError:
        raise ValueError(f"unknown timeframe {timeframe!r}; have {sorted(TIMEFRAMES)}") from None


def real_bars(symbol: str, timeframe: str | int = "H1") -> list[Bar]:
    """The real history of ``symbol`` as bid bars, oldest first (a fresh list each call).

    A timeframe longer than the file's own is resampled from it; a shorter one is refused.
    """
    return list(_cached_bars(symbol, timeframe_minutes(timeframe)))


def dataset_bars(name: str) -> list[Bar]:
    """The bars of one of `DATASETS` (``"EURUSD_H1"``, ``"EURUSD_H4"``, ``"GOOG_D1"``)."""
    try:
        symbol, timeframe = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; have {sorted(DATASETS)}") from None
    return real_bars(symbol, timeframe)


def bar_frame(bars: Iterable[Bar]) -> pd.DataFrame:
    """Bars as the trainers' bar frame: one row per bar, columns named as `Bar`'s fields.

    >>> from botcopier.bridge.simulator.market import random_walk_bars
    >>> bar_frame(random_walk_bars("EURUSD", start_ms=0, count=2)).columns.tolist()[:4]
    ['symbol', 'time_ms', 'timeframe_minutes', 'open']
    """
    rows = [dataclasses.asdict(bar) for bar in bars]
    return pd.DataFrame(rows, columns=[f.name for f in dataclasses.fields(Bar)])


def real_bar_frame(symbol: str, timeframe: str | int = "H1") -> pd.DataFrame:
    """`real_bars` as the trainers' bar frame (time_ms, timeframe_minutes, open … spread)."""
    return bar_frame(_cached_bars(symbol, timeframe_minutes(timeframe)))


def resample_bars(bars: Sequence[Bar] | Iterable[Bar], minutes: int) -> list[Bar]:
    """Bars merged into ``minutes``-long buckets aligned on UTC midnight (partial ones kept).

    A bucket's spread is the widest of its bars', its tick volume their sum.
    """
    step_ms = minutes * _MINUTE_MS
    merged: list[Bar] = []
    for bar in bars:
        if step_ms % (bar.timeframe_minutes * _MINUTE_MS):
            raise ValueError(f"cannot make {minutes}-minute bars of {bar.timeframe_minutes}-minute")
        start = bar.time_ms - bar.time_ms % step_ms
        last = merged[-1] if merged else None
        if last is not None and last.time_ms == start and last.symbol == bar.symbol:
            merged[-1] = dataclasses.replace(
                last,
                high=max(last.high, bar.high),
                low=min(last.low, bar.low),
                close=bar.close,
                tick_volume=last.tick_volume + bar.tick_volume,
                spread_points=max(last.spread_points, bar.spread_points),
            )
        else:
            merged.append(dataclasses.replace(bar, time_ms=start, timeframe_minutes=minutes))
    return merged


@cache
def _cached_bars(symbol: str, minutes: int) -> tuple[Bar, ...]:
    spec = symbol_spec(symbol)
    native = _read(spec)
    if minutes == spec.timeframe_minutes:
        return native
    if minutes < spec.timeframe_minutes or minutes % spec.timeframe_minutes:
        raise ValueError(
            f"{symbol} history is {spec.timeframe_minutes}-minute bars: "
            f"cannot make {minutes}-minute bars of it"
        )
    return tuple(resample_bars(native, minutes))


def _read(spec: SymbolSpec) -> tuple[Bar, ...]:
    path = history_folder() / spec.file
    if not path.is_file():
        raise HistoryUnavailableError(f"{path} is missing: is {PACKAGE!r} 0.6.6 installed?")
    bars: list[Bar] = []
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        header = [name.strip().lower() for name in next(rows)]
        if header != ["", "open", "high", "low", "close", "volume"]:
            raise MarketDataError(path, 1, f"unexpected header {header}")
        for line, row in enumerate(rows, start=2):
            try:
                stamp, open_, high, low, close, volume = row
                bar = Bar(
                    symbol=spec.symbol,
                    time_ms=parse_time_ms(stamp),
                    timeframe_minutes=spec.timeframe_minutes,
                    open=float(open_),
                    high=float(high),
                    low=float(low),
                    close=float(close),
                    tick_volume=int(volume),
                    spread_points=spec.spread_points,
                )
            except ValueError as exc:
                raise MarketDataError(path, line, str(exc)) from None
            if bars and bar.time_ms <= bars[-1].time_ms:
                raise MarketDataError(path, line, "time is not after the previous row's")
            bars.append(bar)
    return tuple(bars)
