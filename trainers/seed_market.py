"""Bar and tick CSVs as Bar and Tick records on ``market-data``.

Bars: any MT4 bars CSV `read_bars_csv` reads (``symbol,time,open,high,low,close,
tick_volume,spread`` from our exporter; ``<DATE>,<TIME>,…`` from MT5; the seed's files).
This reads them row by row instead of through `read_bars_csv`, which stops at the first bad
row, while an import reports every bad row and goes on. The timeframe comes from a
``timeframe`` column (minutes, or ``H1``-style), ``--timeframe``, the file name
(``bars_EURUSD_H1.csv``) or else the smallest gap between two bars of the symbol.

Ticks: the seed's ``time;bid;ask`` and its exporter's ``time;bid;ask;last;volume``
(``ticks_<SYMBOL>.csv``: the symbol comes from a column, ``--symbol`` or that file name).

Ids: ``<ea_id>:bar:<symbol>:<timeframe>:<open time ms>``; a tick's
``<ea_id>:tick:<symbol>:<time ms>:<n>``, ``n`` counting the ticks of that time in the file
(MT4 logs ticks to the second, and several share one).

Examples
--------
>>> timeframe_minutes("H4"), timeframe_minutes("15"), timeframe_minutes("mn1")
(240, 15, 43200)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botcopier.bridge.simulator.market import Bar
from botcopier.trainers.seed_csv import CsvTable, RowProblem, whole
from botcopier.trainers.seed_logs import LogKind, Mapped, file_symbol

_MINUTE_MS = 60_000
_PERIODS = {"M": 1, "H": 60, "D": 1440, "W": 10080, "MN": 43200}


class BarLog(LogKind):
    name = "bars"
    schema = "Bar"
    topic = "market-data"
    signature = frozenset({"open", "high", "low", "close"})
    aliases = {
        "tickvol": "tick_volume",
        "vol": "tick_volume",
        "volume": "tick_volume",
        "period": "timeframe",
        "tf": "timeframe",
    }
    required = ("time", "open", "high", "low", "close", "symbol")
    from_options = {"symbol": "symbol"}

    def fallback(self, table: CsvTable, name: str) -> Any:
        if name == "time":  # daily bars: a date column and no time column
            return "date" if "date" in table.columns else None
        if name == "symbol":
            return self.options.symbol or file_symbol(table.path, "bars")
        return super().fallback(table, name)

    def scan(self, table: CsvTable) -> Iterator[Mapped | RowProblem]:
        # Held back until the whole file is read: the timeframe may come from its gaps.
        rows: list[tuple[int, dict[str, Any]]] = []
        for item in super().scan(table):
            if isinstance(item, RowProblem):
                yield item
            else:
                rows.append((item.line, item.record))
        by_file = _file_timeframe(table.path.name)
        gaps = _smallest_gaps(fields for _, fields in rows)
        for line, fields in rows:
            logged = fields.pop("timeframe")
            minutes = logged or self.options.timeframe_minutes or by_file
            minutes = minutes or gaps.get(fields["symbol"])
            if not minutes:
                yield RowProblem(
                    table.path,
                    line,
                    f"the timeframe of {fields['symbol']} is unknown (one bar only): "
                    "add a timeframe column or pass --timeframe",
                )
                continue
            bar = Bar(**fields, timeframe_minutes=minutes)
            event_id = f"{self.options.ea_id}:bar:{bar.symbol}:{minutes}:{bar.time_ms}"
            yield Mapped(line, bar.symbol, {**bar.to_record(event_id), "ea_id": self.options.ea_id})

    def map_row(self, cell: dict[str, str], table: CsvTable) -> tuple[str, dict[str, Any]]:
        date, time = cell.get("date", ""), cell.get("time", "")
        stamp = f"{date} {time}" if date and time else date or time
        fields: dict[str, Any] = {
            "symbol": cell.get("symbol") or self.fallback(table, "symbol"),
            "time_ms": self.time({"time": stamp}, "time"),
        }
        if not fields["symbol"]:
            raise ValueError("the symbol is empty")
        for name in ("open", "high", "low", "close"):
            fields[name] = self.number(cell, name, table)
            if fields[name] <= 0:
                raise ValueError(f"{name} must be a positive price, not {cell[name]!r}")
        if fields["low"] > min(fields["open"], fields["close"]):
            raise ValueError(f"low {cell['low']} is above the open or close")
        if fields["high"] < max(fields["open"], fields["close"]):
            raise ValueError(f"high {cell['high']} is below the open or close")
        volume, spread = cell.get("tick_volume"), cell.get("spread")
        fields["tick_volume"] = whole("tick_volume", volume, minimum=0) if volume else 0
        fields["spread_points"] = whole("spread", spread, minimum=0) if spread else 0
        logged = cell.get("timeframe")
        fields["timeframe"] = timeframe_minutes(logged) if logged else None
        return fields["symbol"], fields


class TickLog(LogKind):
    name = "ticks"
    schema = "Tick"
    topic = "market-data"
    signature = frozenset({"bid", "ask"})
    aliases = {"timestamp": "time", "tick_volume": "volume", "volume_real": "volume"}
    required = ("time", "bid", "ask", "symbol")
    from_options = {"symbol": "symbol"}

    def fallback(self, table: CsvTable, name: str) -> Any:
        if name == "symbol":
            return self.options.symbol or file_symbol(table.path, "ticks")
        return super().fallback(table, name)

    def scan(self, table: CsvTable) -> Iterator[Mapped | RowProblem]:
        self._seen: Counter[tuple[str, int]] = Counter()  # (symbol, time ms): ticks so far
        yield from super().scan(table)

    def map_row(self, cell: dict[str, str], table: CsvTable) -> tuple[str, dict[str, Any]]:
        symbol = cell.get("symbol") or self.fallback(table, "symbol")
        if not symbol:
            raise ValueError("the symbol is empty")
        time_ms = self.time(cell, "time")
        bid, ask = self.number(cell, "bid", table), self.number(cell, "ask", table)
        if bid <= 0 or ask <= 0:
            raise ValueError(f"bid and ask must be positive prices, not {bid} and {ask}")
        if ask < bid:
            raise ValueError(f"ask {ask} is below bid {bid}")
        volume = cell.get("volume")
        n = self._seen[symbol, time_ms]
        self._seen[symbol, time_ms] += 1
        record = {
            "event_id": f"{self.options.ea_id}:tick:{symbol}:{time_ms}:{n}",
            "event_time_ms": time_ms,
            "symbol": symbol,
            "bid": bid,
            "ask": ask,
            "volume": whole("volume", volume, minimum=0) if volume else 0,
            "ea_id": self.options.ea_id,
        }
        return symbol, record


def timeframe_minutes(text: str) -> int:
    """Minutes of a timeframe written as minutes (``60``) or MT4's name (``H1``, ``PERIOD_D1``)."""
    name = text.strip().upper().removeprefix("PERIOD_")
    match = re.fullmatch(r"(MN|M|H|D|W)(\d+)", name)
    minutes = _PERIODS[match.group(1)] * int(match.group(2)) if match else None
    if minutes is None:
        minutes = whole("timeframe", name)
    if minutes <= 0:
        raise ValueError(f"timeframe must be > 0 minutes, not {text.strip()!r}")
    return minutes


def _file_timeframe(name: str) -> int | None:
    match = re.search(r"_((?:MN|M|H|D|W)\d+)\.csv", name, re.IGNORECASE)
    return timeframe_minutes(match.group(1)) if match else None


def _smallest_gaps(rows: Iterator[dict[str, Any]]) -> dict[str, int]:
    """Per symbol, the smallest gap in whole minutes between two of its bars."""
    times: dict[str, set[int]] = {}
    for fields in rows:
        times.setdefault(fields["symbol"], set()).add(fields["time_ms"])
    gaps = {}
    for symbol, stamps in times.items():
        ordered = sorted(stamps)
        steps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
        whole_minutes = [s // _MINUTE_MS for s in steps if s % _MINUTE_MS == 0]
        if whole_minutes:
            gaps[symbol] = min(whole_minutes)
    return gaps
