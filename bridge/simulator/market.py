"""Bars for the EA simulator: a seeded random walk, or MT4 history read from CSV.

Prices are bid prices, as in MT4 charts; the ask is ``bid + spread_points * point``.

Examples
--------
>>> bars = list(random_walk_bars("EURUSD", start_ms=0, count=3, seed=7))
>>> [bar.time_ms for bar in bars]
[0, 3600000, 7200000]
>>> all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
True
>>> bars[1].open == bars[0].close
True
>>> sorted(bars[0].to_record("b-1"))[:4]
['close', 'event_id', 'event_time_ms', 'high']
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botcopier.bridge.simulator.exceptions import MarketDataError

_MINUTE_MS = 60_000


@dataclass(frozen=True)
class Bar:
    """One OHLC bar of bid prices; ``time_ms`` is its open time (ms since the epoch, UTC)."""

    symbol: str
    time_ms: int
    timeframe_minutes: int
    open: float
    high: float
    low: float
    close: float
    tick_volume: int = 0
    spread_points: int = 0

    @property
    def end_ms(self) -> int:
        """When the bar closes: the time of anything a bot does on seeing the whole bar."""
        return self.time_ms + self.timeframe_minutes * _MINUTE_MS

    def to_record(self, event_id: str) -> dict[str, Any]:
        """The bar as a ``Bar`` Avro record (schemas/Bar.avsc), without the envelope defaults."""
        return {
            "event_id": event_id,
            "event_time_ms": self.time_ms,
            "symbol": self.symbol,
            "timeframe_minutes": self.timeframe_minutes,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "tick_volume": self.tick_volume,
            "spread_points": self.spread_points,
        }


def random_walk_bars(
    symbol: str,
    *,
    start_ms: int,
    timeframe_minutes: int = 60,
    count: int | None = None,
    seed: int = 0,
    start_price: float = 1.1000,
    volatility: float = 0.0008,
    digits: int = 5,
) -> Iterator[Bar]:
    """Bars of a seeded geometric random walk; endless when ``count`` is None.

    Parameters
    ----------
    symbol, start_ms, timeframe_minutes
        What the bars are of and when the first one opens.
    count
        How many bars; None for an endless stream.
    seed
        The same seed always gives the same bars.
    start_price, volatility, digits
        First open; standard deviation of the log return per bar; decimals prices round to.
    """
    if timeframe_minutes <= 0 or start_price <= 0 or volatility < 0 or digits < 0:
        raise ValueError("timeframe_minutes and start_price must be > 0, volatility >= 0")
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    rng = random.Random(seed)
    price = round(start_price, digits)
    step_ms = timeframe_minutes * _MINUTE_MS
    index = 0
    while count is None or index < count:
        close = round(price * math.exp(rng.gauss(0.0, volatility)), digits)
        # Wicks beyond the body; rounding is monotonic, so low <= open, close <= high survives it.
        high = round(max(price, close) * math.exp(abs(rng.gauss(0.0, volatility / 2))), digits)
        low = round(min(price, close) * math.exp(-abs(rng.gauss(0.0, volatility / 2))), digits)
        yield Bar(
            symbol=symbol,
            time_ms=start_ms + index * step_ms,
            timeframe_minutes=timeframe_minutes,
            open=price,
            high=high,
            low=low,
            close=close,
            tick_volume=rng.randint(200, 2_000),
            spread_points=rng.randint(8, 18),
        )
        price = close
        index += 1


# Header names as MT4 scripts, MT5's "Export bars" (<DATE>, <TICKVOL>, ...) and hand-made
# files spell them, mapped onto one canonical name each.
_ALIASES = {
    "date": "date",
    "time": "time",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "volume": "volume",
    "tick_volume": "tick_volume",
    "tickvol": "tick_volume",
    "spread": "spread",
    "symbol": "symbol",
    "timeframe": "timeframe",
}
_REQUIRED = ("time", "open", "high", "low", "close")
_TIME_FORMATS = (
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)


def parse_time_ms(text: str) -> int:
    """Epoch ms from an MT4 (``2024.01.02 13:00``), ISO or integer-epoch-ms time, taken as UTC.

    >>> parse_time_ms("2024.01.02 13:00"), parse_time_ms("2024-01-02 13:00:00")
    (1704200400000, 1704200400000)
    >>> parse_time_ms("1704200400000")
    1704200400000
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    for layout in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(moment.timestamp()) * 1000
    raise ValueError(f"unreadable time {text!r} (want YYYY.MM.DD HH:MM[:SS], ISO or epoch ms)")


def read_bars_csv(
    path: str | Path, symbol: str | None = None, *, timeframe_minutes: int | None = None
) -> Iterator[Bar]:
    """Bars from an MT4-style history CSV, in file order.

    The header line is required; the separator (``,``, ``;`` or tab) is sniffed from it and
    column names are case-insensitive (``<OPEN>`` works too). Columns: ``time`` (or ``date``
    plus ``time``), ``open``, ``high``, ``low``, ``close``; optional ``volume``/``tick_volume``,
    ``spread``, ``symbol`` (else pass ``symbol``) and ``timeframe`` in minutes (else
    ``timeframe_minutes``, else the gap between the first two bars of one symbol).

    Raises
    ------
    MarketDataError
        On a bad row or header, or rows out of time order, naming the file and line.
    """
    path = Path(path)
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header_line = handle.readline()
        if not header_line.strip():
            raise MarketDataError(path, 1, "no header line (want time,open,high,low,close,...)")
        delimiter = max((",", ";", "\t"), key=header_line.count)
        header = next(csv.reader([header_line], delimiter=delimiter))
        columns = bar_column_indexes(path, header)
        if symbol is None and "symbol" not in columns:
            raise MarketDataError(path, 1, "no symbol column, and no symbol was given")
        reader = csv.reader(handle, delimiter=delimiter)
        parse = _RowParser(path, header, columns, symbol, timeframe_minutes)
        for row in reader:
            if any(cell.strip() for cell in row):
                # +1: the header line was read before the csv reader started counting.
                yield from parse.row(row, reader.line_num + 1)
        yield from parse.finish()


def bar_column_indexes(path: Path, header: list[str]) -> dict[str, int]:
    """Canonical column name -> its index in ``header``; a header lacking one is refused."""
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        canonical = _ALIASES.get(name.strip().strip("<>").strip().lower())
        if canonical is not None and canonical not in columns:
            columns[canonical] = index
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        found = ", ".join(header)
        raise MarketDataError(path, 1, f"header lacks {', '.join(missing)} (found: {found})")
    return columns


class _RowParser:
    """Turns rows into bars, checking order and holding rows back until the timeframe is known."""

    def __init__(
        self,
        path: Path,
        header: list[str],
        columns: dict[str, int],
        symbol: str | None,
        timeframe_minutes: int | None,
    ) -> None:
        self._path = path
        self._width = len(header)
        self._columns = columns
        self._symbol = symbol
        self._timeframe = timeframe_minutes
        self._pending: list[tuple[dict[str, Any], int]] = []
        self._last_time: dict[str, int] = {}
        self._file_time = -math.inf

    def row(self, cells: list[str], line: int) -> Iterator[Bar]:
        try:
            fields = self._fields(cells)
        except ValueError as exc:
            raise MarketDataError(self._path, line, str(exc)) from None
        self._check_order(fields, line)
        if not self._pending and (self._timeframe or fields.get("timeframe_minutes")):
            fields.setdefault("timeframe_minutes", self._timeframe)
            yield Bar(**fields)
            return
        self._pending.append((fields, line))
        self._infer_timeframe()
        if self._timeframe is not None:
            yield from self._release()

    def finish(self) -> Iterator[Bar]:
        if self._pending and self._timeframe is None:
            raise MarketDataError(
                self._path,
                self._pending[-1][1],
                "cannot infer the timeframe from one bar per symbol; add a timeframe column",
            )
        yield from self._release()

    def _fields(self, cells: list[str]) -> dict[str, Any]:
        if len(cells) != self._width:
            raise ValueError(f"expected {self._width} columns, found {len(cells)}")
        cell = {name: cells[index].strip() for name, index in self._columns.items()}
        stamp = f"{cell['date']} {cell['time']}" if "date" in cell else cell["time"]
        fields: dict[str, Any] = {"symbol": cell.get("symbol") or self._symbol}
        if not fields["symbol"]:
            raise ValueError("empty symbol")
        fields["time_ms"] = parse_time_ms(stamp)
        for name in ("open", "high", "low", "close"):
            fields[name] = _price(name, cell[name])
        if not fields["low"] <= min(fields["open"], fields["close"]):
            raise ValueError(f"low {fields['low']} is above the open or close")
        if not fields["high"] >= max(fields["open"], fields["close"]):
            raise ValueError(f"high {fields['high']} is below the open or close")
        volume = cell.get("tick_volume") or cell.get("volume")
        fields["tick_volume"] = _count("volume", volume)
        fields["spread_points"] = _count("spread", cell.get("spread"))
        if cell.get("timeframe"):
            fields["timeframe_minutes"] = _count("timeframe", cell["timeframe"])
            if fields["timeframe_minutes"] <= 0:
                raise ValueError("timeframe must be > 0 minutes")
        return fields

    def _check_order(self, fields: dict[str, Any], line: int) -> None:
        time_ms, symbol = fields["time_ms"], fields["symbol"]
        # Several symbols may share a time, but the file as a whole must never go back.
        if time_ms < self._file_time or time_ms <= self._last_time.get(symbol, -math.inf):
            raise MarketDataError(
                self._path, line, f"time {time_ms} is not after the previous row's: out of order"
            )
        self._file_time = time_ms
        self._last_time[symbol] = time_ms

    def _infer_timeframe(self) -> None:
        fields, line = self._pending[-1]
        earlier = [f for f, _ in self._pending[:-1] if f["symbol"] == fields["symbol"]]
        if not earlier:
            return
        gap_ms = fields["time_ms"] - earlier[0]["time_ms"]
        if gap_ms % _MINUTE_MS:
            raise MarketDataError(
                self._path, line, f"bars {gap_ms} ms apart: not a whole number of minutes"
            )
        self._timeframe = gap_ms // _MINUTE_MS

    def _release(self) -> Iterator[Bar]:
        pending, self._pending = self._pending, []
        for fields, _ in pending:
            fields.setdefault("timeframe_minutes", self._timeframe)
            yield Bar(**fields)


def _price(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} is not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive price, not {text!r}")
    return value


def _count(name: str, text: str | None) -> int:
    if not text:
        return 0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} is not a number: {text!r}") from None
    if not value.is_integer() or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, not {text!r}")
    return int(value)
