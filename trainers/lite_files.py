"""Lite mode's files: bar CSVs read a chunk at a time, and a bot's events streamed from JSON lines.

`read_bar_chunks` gives the bars of a CSV ``chunk_rows`` lines at a time, as `read_bars_csv`
would read them whole; `count_bars` counts them up front (lite mode splits by position).
`file_events` streams the bot's events from a JSON-lines file in time order (each pass reads
it again) and reads anything else whole.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from botcopier.bridge.simulator.exceptions import MarketDataError
from botcopier.bridge.simulator.market import bar_column_indexes, parse_time_ms
from botcopier.trainers.dataset import NotEnoughDataError
from botcopier.trainers.sources import json_line_events, read_events_file

# A list of events, or (streamed) a callable giving them afresh per pass, in time order.
Events = Sequence[Mapping[str, Any]] | Callable[[], Iterable[Mapping[str, Any]]]
_MINUTE_MS = 60_000


# `bar_column_indexes`' canonical names that the Bar fields spell differently.
_BAR_FIELD = {"spread": "spread_points", "timeframe": "timeframe_minutes"}
_JSON_LINES = (".jsonl", ".json", ".ndjson")  # the suffixes read_events_file reads as JSON
_TIME_LAYOUTS = ("%Y.%m.%d %H:%M", "%Y.%m.%d %H:%M:%S", "ISO8601")


def _header(path: Path) -> tuple[str, dict[str, int]]:
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        line = handle.readline()
    delimiter = max((",", ";", "\t"), key=line.count)
    header = line.rstrip("\r\n").split(delimiter)
    columns = {_BAR_FIELD.get(k, k): i for k, i in bar_column_indexes(path, header).items()}
    volume = columns.pop("volume", None)
    if volume is not None:
        columns.setdefault("tick_volume", volume)
    return delimiter, columns


def _times_ms(path: Path, stamps: pd.Series) -> np.ndarray:
    text = stamps.astype(str).str.strip()
    if text.str.fullmatch(r"\d+").all():
        return text.astype(np.int64).to_numpy()
    for layout in _TIME_LAYOUTS:
        try:
            moments = pd.to_datetime(text, format=layout)
        except ValueError:
            continue
        if moments.dt.tz is not None:
            continue  # read_bars_csv takes no zones: let the row-by-row reader say so
        # Through milliseconds, never nanoseconds: those end in 2262.
        return moments.to_numpy().astype("datetime64[ms]").astype(np.int64)
    out = np.empty(len(text), dtype=np.int64)
    for i, (row, stamp) in enumerate(text.items()):  # rarer layouts, as `read_bars_csv` reads
        try:
            out[i] = parse_time_ms(stamp)
        except ValueError as exc:
            raise MarketDataError(path, int(row) + 2, str(exc)) from None
    return out


def _check(path: Path, bars: pd.DataFrame, previous_ms: int | None) -> None:
    prices = bars[["open", "high", "low", "close"]].to_numpy(float)
    times = bars["time_ms"].to_numpy(np.int64)
    before = times[:1] - 1 if previous_ms is None else [previous_ms]
    problems = {
        "a price is not a positive number": ~(np.isfinite(prices) & (prices > 0)).all(axis=1),
        "low is above the open or close": prices[:, 2] > prices[:, [0, 3]].min(axis=1),
        "high is below the open or close": prices[:, 1] < prices[:, [0, 3]].max(axis=1),
        "time is not after the previous bar's: out of order": np.diff(times, prepend=before) <= 0,
    }
    for problem, bad in problems.items():
        if bad.any():
            raise MarketDataError(path, int(bars.index[np.argmax(bad)]) + 2, problem)


def read_bar_chunks(
    path: Path,
    *,
    symbol: str | None = None,
    timeframe_minutes: int | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[pd.DataFrame]:
    """Bars of ``symbol`` from an MT4-style history CSV, ``chunk_rows`` lines at a time.

    The header and time layouts of `read_bars_csv` (checked the same way: positive prices,
    low and high around the body, times increasing); line numbers in errors count the
    header as line 1 and no blank lines.
    """
    path = Path(path)
    delimiter, columns = _header(path)
    if symbol is None and "symbol" not in columns:
        raise MarketDataError(path, 1, "no symbol column, and no symbol was given")
    names = sorted(columns, key=columns.get)
    reader = pd.read_csv(
        path,
        sep=delimiter,
        header=None,
        skiprows=1,
        usecols=[columns[n] for n in names],
        dtype={columns[n]: str for n in ("date", "time", "symbol") if n in columns},
        chunksize=chunk_rows,
        encoding="utf-8-sig",
    )
    previous_ms, pending = None, None
    for raw in reader:
        raw = raw.rename(columns={columns[n]: n for n in names})
        if "symbol" in raw and symbol is not None:
            raw = raw[raw["symbol"].str.strip() == symbol]
        stamps = raw["date"] + " " + raw["time"] if "date" in raw else raw["time"]
        bars = pd.DataFrame(
            {
                "symbol": symbol if symbol is not None else raw["symbol"].str.strip(),
                "time_ms": _times_ms(path, stamps) if len(raw) else np.empty(0, np.int64),
                **{c: raw[c].astype(float) for c in ("open", "high", "low", "close")},
                **{
                    c: raw[c].fillna(0).astype(np.int64) if c in raw else 0
                    for c in ("tick_volume", "spread_points")
                },
            },
            index=raw.index,
        )
        if "timeframe_minutes" in raw:
            bars["timeframe_minutes"] = raw["timeframe_minutes"].astype(np.int64)
        _check(path, bars, previous_ms)
        if len(bars):
            previous_ms = int(bars["time_ms"].iloc[-1])
        if pending is not None:
            bars, pending = pd.concat([pending, bars]), None
        if "timeframe_minutes" not in bars:
            if timeframe_minutes is None and len(bars) < 2:
                pending = bars  # one bar cannot tell the timeframe: wait for the next
                continue
            if timeframe_minutes is None:
                gap_ms = int(bars["time_ms"].iloc[1] - bars["time_ms"].iloc[0])
                if gap_ms % _MINUTE_MS:
                    raise MarketDataError(
                        path, int(bars.index[1]) + 2, "bars not whole minutes apart"
                    )
                timeframe_minutes = gap_ms // _MINUTE_MS
            bars["timeframe_minutes"] = timeframe_minutes
        yield bars.reset_index(drop=True)
    if pending is not None and len(pending):
        raise MarketDataError(
            path, 2, "cannot infer the timeframe from one bar; add a timeframe column"
        )


def count_bars(path: Path, symbol: str | None = None) -> int:
    """How many bars `read_bar_chunks` will give: the non-blank lines after the header, or
    (with a symbol column) the bars of ``symbol``, counted by reading the file once."""
    _, columns = _header(path)
    if "symbol" not in columns or symbol is None:
        with Path(path).open("rb") as handle:
            return sum(1 for line in handle if line.strip()) - 1
    return sum(len(chunk) for chunk in read_bar_chunks(path, symbol=symbol, chunk_rows=200_000))


def _json_line_events(
    path: Path, magic: int | None, account: int | None, symbol: str | None = None
) -> Iterator[dict[str, Any]]:
    """The bot's events in a JSON-lines file, one at a time, as `read_events_file` reads them
    and `history_from_files` picks them."""
    for event in json_line_events(path):
        if magic is not None and event.get("magic") != magic:
            continue
        if account is not None and event.get("account") not in (account, None):
            continue
        if symbol is None or event.get("symbol") in (symbol, None):
            yield event


def file_events(args: argparse.Namespace, say) -> tuple[Events, dict[str, Any], int, Any]:
    """The bot's events from ``--events``: streamed from JSON lines in time order (each pass
    reads the file again), else read whole and sorted. With the bot, its count, its last id."""
    path = Path(args.events)
    if path.suffix in _JSON_LINES:
        symbols = Counter(
            e["symbol"]
            for e in _json_line_events(path, args.magic, args.account)
            if e.get("symbol")
        )
    else:
        everything = read_events_file(
            path, account=args.account, magic=args.magic, symbol=args.symbol, say=say
        )
        symbols = Counter(e["symbol"] for e in everything if e.get("symbol"))
    symbol = args.symbol or (symbols.most_common(1)[0][0] if symbols else None)
    if symbol is None:
        raise NotEnoughDataError(f"no trade events of the bot (with a symbol) in {path}")
    bot = {"account": args.account, "magic": args.magic, "symbol": symbol}
    if path.suffix not in _JSON_LINES:
        mine = [
            e
            for e in everything
            if (args.magic is None or e.get("magic") == args.magic)
            and (args.account is None or e.get("account") in (args.account, None))
            and e.get("symbol") in (symbol, None)
        ]
        events = sorted(mine, key=lambda e: e["event_time_ms"])
        return events, bot, len(events), events[-1].get("event_id") if events else None
    count, last_ms, ordered, last_id = 0, None, True, None
    for event in _json_line_events(path, args.magic, args.account, symbol):
        count += 1
        ordered = ordered and (last_ms is None or event["event_time_ms"] >= last_ms)
        last_ms, last_id = event["event_time_ms"], event.get("event_id")
    if ordered:
        return (
            (lambda: _json_line_events(path, args.magic, args.account, symbol)),
            bot,
            count,
            last_id,
        )
    say(f"{path.name}: the bot's events are not in time order: read whole and sorted")
    events = sorted(
        _json_line_events(path, args.magic, args.account, symbol), key=lambda e: e["event_time_ms"]
    )
    return events, bot, count, events[-1].get("event_id")
