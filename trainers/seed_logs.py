"""The seed project's trade and metric logs as TradeEvent and MetricSnapshot records.

Column sets of ``trades_raw.csv`` (every one has ``event_id``, the EA's own counter):

- Observer EA, first versions (``;``): ``event_id event_time broker_time local_time action
  ticket magic source symbol order_type lots price sl tp profit comment remaining_lots``;
- later EAs (``;``) add ``profit_after_trade spread`` after ``profit`` and ``slippage volume
  open_time book_* sl_hit_dist tp_hit_dist decision_id is_anomaly``, then ``trace_id span_id``
  and ``equity margin_level commission swap …``; the rotated copies start with a JSON line;
- the Python stream listener (``,``): the first EA set plus ``decision_id,trace_id,span_id``;
- the notebook sample (``;``): ``schema_version event_id event_time action ticket symbol
  order_type lots profit`` (no magic, no price: pass ``--magic``; the price stays 0).

``metrics.csv``: ``time;magic;win_rate;avg_profit;trade_count;drawdown;sharpe``, later with
``sortino expectancy file_write_errors socket_errors …`` (the EA that also writes
``cpu_load`` writes one cell more than its header names: ``fallback_events`` is missing
from the header, and is put back); the Python listener writes the same names with ``,``.

How seed values become ours (documented derivations):

- ``order_type`` 0-5 is MT4's OP_BUY..OP_SELLSTOP (names such as ``BUY_LIMIT`` work too);
- ``price`` is the open price of OPEN and MODIFY rows and the close price of CLOSE rows; a
  CLOSE takes its open price and time from its ticket's OPEN seen earlier in the same
  import (any file before it), else ``open_time`` if logged, else 0 and null;
- the seed's ``profit`` is net of swap and commission (its EA logs ``OrderProfit() +
  OrderSwap() + OrderCommission()``); ours is ``OrderProfit()`` with those apart, so when
  ``swap``/``commission`` are logged they are taken out of ``profit``;
- ``spread`` in points when it is 1 or more; the later EAs log ask - bid as a price, which
  cannot become points without the symbol's digits, so that leaves 0 (unknown);
- ``remaining_lots`` when logged, else the lots for an OPEN and 0 for a close;
- the account comes from an ``account`` column or ``--account``; ``window_days`` of a
  snapshot is the seed EA's default ``MetricsRollingDays`` (7) unless a column says so;
- ``trace_id``/``span_id`` are kept when they are W3C-shaped hex, else null;
- ``event_id``: ``<ea_id>:trade:<account>:<seed event_id>``, or without that column
  ``<ea_id>:trade:<account>:<magic>:<ticket>:<action>:<time ms>``; snapshots
  ``<ea_id>:metrics:<account>:<magic>:<time ms>``. The same row always gets the same id.

Examples
--------
>>> parse_order_type("1"), parse_order_type("op_buylimit"), parse_order_type("SELL_STOP")
('SELL', 'BUY_LIMIT', 'SELL_STOP')
>>> spread_points("12"), spread_points("0.00012"), spread_points("")
(12, 0, 0)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from botcopier.trainers.seed_csv import (
    CsvTable,
    RowProblem,
    SeedFileError,
    event_time_ms,
    number,
    whole,
)

_HOUR_MS = 3_600_000
ORDER_TYPES = ("BUY", "SELL", "BUY_LIMIT", "SELL_LIMIT", "BUY_STOP", "SELL_STOP")
ACTIONS = ("OPEN", "MODIFY", "CLOSE")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class ImportOptions:
    """What the files do not say: given on the command line, used when a column is missing."""

    account: int | None = None
    magic: int | None = None
    symbol: str | None = None
    timeframe_minutes: int | None = None
    ea_id: str = "import"
    server_utc_offset_hours: float = 0.0
    window_days: int = 7


@dataclass(frozen=True)
class Mapped:
    """One row as a record, with where it came from and its Kafka key."""

    line: int
    key: str
    record: dict[str, Any]


class LogKind:
    """One kind of log file: its columns and how a row becomes a record.

    One instance serves every file of an import, so state can span files (a CLOSE in one
    rotated log finds its OPEN in the one before).
    """

    name: ClassVar[str]
    schema: ClassVar[str]
    topic: ClassVar[str]
    aliases: ClassVar[Mapping[str, str]]
    required: ClassVar[tuple[str, ...]]
    signature: ClassVar[frozenset[str]]  # columns that tell this kind apart (``auto``)
    # Required columns an option can stand in for: column -> ImportOptions field.
    from_options: ClassVar[Mapping[str, str]] = {}

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.offset_ms = round(options.server_utc_offset_hours * _HOUR_MS)

    @classmethod
    def canonical(cls, columns: list[str]) -> list[str]:
        return [cls.aliases.get(c, c) for c in columns]

    def scan(self, table: CsvTable) -> Iterator[Mapped | RowProblem]:
        """Every row of ``table`` as a record or as the problem that stops it."""
        index = self.check_header(table)
        for line, cells in table.rows():
            try:
                if table.is_header(cells):
                    raise ValueError(f"a header line among the rows: {table.delimiter.join(cells)}")
                key, record = self.map_row(self.cells(table, index, cells), table)
            except ValueError as exc:
                yield RowProblem(table.path, line, str(exc))
                continue
            yield Mapped(line, key, record)

    def check_header(self, table: CsvTable) -> dict[str, int]:
        """Column positions by canonical name; raises SeedFileError naming what is missing."""
        index: dict[str, int] = {}
        for position, name in enumerate(self.canonical(table.columns)):
            index.setdefault(name, position)
        missing = [
            name
            for name in self.required
            if name not in index and self.fallback(table, name) is None
        ]
        if missing:
            hints = [f"--{self.from_options[m]}" for m in missing if m in self.from_options]
            raise SeedFileError(
                table.path,
                table.header_line,
                f"{self.name} header lacks {', '.join(missing)}"
                + (f" (or pass {', '.join(hints)})" if hints else "")
                + f"; found: {', '.join(table.header)}",
            )
        return index

    def fallback(self, table: CsvTable, name: str) -> Any:
        """What stands in for an absent or empty column ``name``: its option, else None."""
        option = self.from_options.get(name)
        return getattr(self.options, option) if option else None

    def cells(self, table: CsvTable, index: dict[str, int], cells: list[str]) -> dict[str, str]:
        if len(cells) != len(table.header):
            raise ValueError(f"{len(cells)} cells where the header has {len(table.header)}")
        return {name: cells[position].strip() for name, position in index.items()}

    def map_row(self, cell: dict[str, str], table: CsvTable) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def time(self, cell: dict[str, str], name: str) -> int:
        return event_time_ms(cell[name], server_utc_offset_ms=self.offset_ms)

    def column_or_fallback(self, cell: dict[str, str], table: CsvTable, name: str) -> Any:
        """An integer column, or its fallback when the cell is absent or empty."""
        if cell.get(name):
            return whole(name, cell[name])
        value = self.fallback(table, name)
        if value is None:
            raise ValueError(f"{name} is empty (pass --{name})")
        return value

    @staticmethod
    def number(cell: dict[str, str], name: str, table: CsvTable, default: float = 0.0) -> float:
        text = cell.get(name, "")
        return number(name, text, decimal_comma=table.delimiter == ";") if text else default


class TradeLog(LogKind):
    name = "trades"
    schema = "TradeEvent"
    topic = "trade-events"
    signature = frozenset({"action", "ticket"})
    aliases = {
        "time": "event_time",
        "timestamp": "event_time",
        "magic_number": "magic",
        "type": "order_type",
        "cmd": "order_type",
        "lot": "lots",
        "stop_loss": "sl",
        "take_profit": "tp",
        "login": "account",
        "account_number": "account",
        "company": "broker",
    }
    required = (
        *("event_time", "action", "ticket", "symbol", "order_type", "lots"),
        *("magic", "account"),
    )
    from_options = {"symbol": "symbol", "magic": "magic", "account": "account"}

    def __init__(self, options: ImportOptions) -> None:
        super().__init__(options)
        # (account, ticket) -> open price, open time ms, lots: for later MODIFYs and CLOSEs.
        self._open: dict[tuple[int, int], tuple[float, int, float]] = {}

    def map_row(self, cell: dict[str, str], table: CsvTable) -> tuple[str, dict[str, Any]]:
        account = self.column_or_fallback(cell, table, "account")
        magic = self.column_or_fallback(cell, table, "magic")
        time_ms = self.time(cell, "event_time")
        action = cell["action"].upper()
        if action not in ACTIONS:
            raise ValueError(f"unknown action {cell['action']!r} (want OPEN, MODIFY or CLOSE)")
        ticket = whole("ticket", cell["ticket"], minimum=0)
        symbol = cell.get("symbol") or self.fallback(table, "symbol")
        if not symbol:
            raise ValueError("the symbol is empty")
        lots = self.number(cell, "lots", table)
        if lots < 0:
            raise ValueError(f"lots must be >= 0, not {cell['lots']!r}")
        price = self.number(cell, "price", table) if cell.get("price") else None
        if price is not None and price < 0:
            raise ValueError(f"price must be >= 0, not {cell['price']!r}")
        swap = self.number(cell, "swap", table)
        commission = self.number(cell, "commission", table)
        record: dict[str, Any] = {
            "event_id": self._event_id(cell, account, magic, ticket, action, time_ms),
            "event_time_ms": time_ms,
            "account": account,
            "broker": cell.get("broker", ""),
            "magic": magic,
            "ticket": ticket,
            "symbol": symbol,
            "action": action,
            "order_type": parse_order_type(cell["order_type"]),
            "lots": lots,
            "sl": self.number(cell, "sl", table),
            "tp": self.number(cell, "tp", table),
            "profit": round(self.number(cell, "profit", table) - swap - commission, 8),
            "swap": swap,
            "commission": commission,
            "comment": cell.get("comment", ""),
            "spread_points": spread_points(cell.get("spread", "")),
            "ea_id": self.options.ea_id,
            **_trace_context(cell),
        }
        remaining = None
        if cell.get("remaining_lots"):
            remaining = self.number(cell, "remaining_lots", table)
            if remaining < 0:
                raise ValueError(f"remaining_lots must be >= 0, not {cell['remaining_lots']!r}")
        logged_open_ms = self.time(cell, "open_time") if cell.get("open_time") else None
        # Last: it remembers the ticket's OPEN, so nothing after it may reject the row.
        record.update(self._position((account, ticket), action, time_ms, price, lots, remaining))
        if record["open_time_ms"] is None:
            record["open_time_ms"] = logged_open_ms
        return f"{account}:{magic}", record

    def _position(
        self,
        key: tuple[int, int],
        action: str,
        time_ms: int,
        price: float | None,
        lots: float,
        logged: float | None,
    ) -> dict[str, Any]:
        """Open price and time, close price and time, and the lots left after the event."""
        known = self._open.get(key)
        if action == "OPEN":
            self._open[key] = (price or 0.0, time_ms, lots)
            return {
                "open_price": price or 0.0,
                "open_time_ms": time_ms,
                "remaining_lots": lots if logged is None else logged,
            }
        fields: dict[str, Any] = {
            "open_price": known[0] if known else 0.0,
            "open_time_ms": known[1] if known else None,
        }
        if action == "MODIFY":
            if price is not None:
                fields["open_price"] = price
            fields["remaining_lots"] = logged if logged is not None else known[2] if known else 0.0
            return fields
        fields.update(close_price=price, close_time_ms=time_ms, remaining_lots=logged or 0.0)
        if known and not fields["remaining_lots"]:
            del self._open[key]
        return fields

    def _event_id(
        self, cell: dict[str, str], account: int, magic: int, ticket: int, action: str, at: int
    ) -> str:
        prefix = f"{self.options.ea_id}:trade:{account}"
        if cell.get("event_id"):
            return f"{prefix}:{cell['event_id']}"
        return f"{prefix}:{magic}:{ticket}:{action}:{at}"


class MetricLog(LogKind):
    name = "metrics"
    schema = "MetricSnapshot"
    topic = "ea-metrics"
    signature = frozenset({"win_rate"})
    aliases = {
        "event_time": "time",
        "timestamp": "time",
        "magic_number": "magic",
        "drawdown": "max_drawdown",
        "max_dd": "max_drawdown",
        "trades": "trade_count",
        "login": "account",
        "account_number": "account",
    }
    required = (
        *("time", "magic", "win_rate", "avg_profit", "trade_count", "max_drawdown"),
        *("sharpe", "account"),
    )
    from_options = {"account": "account", "magic": "magic"}

    def cells(self, table: CsvTable, index: dict[str, int], cells: list[str]) -> dict[str, str]:
        columns = table.columns
        if (
            len(cells) == len(columns) + 1
            and "fallback_logging" in columns
            and "fallback_events" not in columns
        ):
            # The seed EA that logs cpu_load writes fallback_events before fallback_logging
            # but leaves it out of its header: read the row against the header it meant.
            at = columns.index("fallback_logging")
            return {name: cells[p + (p >= at)].strip() for name, p in index.items()}
        return super().cells(table, index, cells)

    def map_row(self, cell: dict[str, str], table: CsvTable) -> tuple[str, dict[str, Any]]:
        account = self.column_or_fallback(cell, table, "account")
        magic = self.column_or_fallback(cell, table, "magic")
        time_ms = self.time(cell, "time")
        win_rate = self.number(cell, "win_rate", table)
        if not 0.0 <= win_rate <= 1.0:
            raise ValueError(f"win_rate must be within 0..1, not {cell['win_rate']!r}")
        drawdown = self.number(cell, "max_drawdown", table)
        if drawdown < 0:
            raise ValueError(f"drawdown must be >= 0, not {cell['max_drawdown']!r}")
        window = cell.get("window_days")
        record = {
            "event_id": f"{self.options.ea_id}:metrics:{account}:{magic}:{time_ms}",
            "event_time_ms": time_ms,
            "account": account,
            "magic": magic,
            "window_days": whole("window_days", window) if window else self.options.window_days,
            "win_rate": win_rate,
            "avg_profit": self.number(cell, "avg_profit", table),
            "trade_count": whole("trade_count", cell["trade_count"], minimum=0),
            "max_drawdown": drawdown,
            "sharpe": self.number(cell, "sharpe", table),
            "file_write_errors": _count(cell, "file_write_errors"),
            "socket_errors": _count(cell, "socket_errors"),
            "ea_id": self.options.ea_id,
            **_trace_context(cell),
        }
        return f"{account}:{magic}", record


def parse_order_type(text: str) -> str:
    """MT4's ``OrderType()`` (0-5) or its name, as the TradeEvent ``OrderType`` symbol."""
    name = text.strip().upper().replace(" ", "_")
    try:
        code = whole("order_type", name)
    except ValueError:
        name = name.removeprefix("OP_")
        name = {"BUYLIMIT": "BUY_LIMIT", "SELLLIMIT": "SELL_LIMIT"}.get(name, name)
        name = {"BUYSTOP": "BUY_STOP", "SELLSTOP": "SELL_STOP"}.get(name, name)
        if name in ORDER_TYPES:
            return name
    else:
        if 0 <= code < len(ORDER_TYPES):
            return ORDER_TYPES[code]
    raise ValueError(f"unknown order type {text.strip()!r} (want 0-5, BUY, SELL, BUY_LIMIT, ...)")


def spread_points(text: str) -> int:
    """Points from a spread in points; 0 (unknown) for a spread logged as a price difference."""
    if not text.strip():
        return 0
    value = number("spread", text)
    if value < 0:
        raise ValueError(f"spread must be >= 0, not {text.strip()!r}")
    return round(value) if value >= 1 else 0


def _count(cell: dict[str, str], name: str) -> int:
    return whole(name, cell[name], minimum=0) if cell.get(name) else 0


def _trace_context(cell: dict[str, str]) -> dict[str, str | None]:
    trace_id, span_id = cell.get("trace_id", "").lower(), cell.get("span_id", "").lower()
    return {
        "trace_id": trace_id if _TRACE_ID.fullmatch(trace_id) and trace_id.strip("0") else None,
        "span_id": span_id if _SPAN_ID.fullmatch(span_id) and span_id.strip("0") else None,
    }


def file_symbol(path: Path, prefix: str) -> str | None:
    """The symbol in an exporter's file name: ``ticks_EURUSD.csv``, ``bars_EURUSD_H1.csv``."""
    match = re.match(rf"{prefix}_([A-Za-z0-9.#]+?)(?:_(?:M|H|D|W|MN)\d+)?\.csv", path.name)
    return match.group(1) if match else None
