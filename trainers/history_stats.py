"""Statistics of exported bar history (`botcopier ticks analyze FILE`).

Reads the CSV that ``mql4/Scripts/TickHistoryExporter.mq4`` writes (any format
`read_bars_csv` accepts) and reports, per symbol: bar count and range, the spread
distribution in points, and gaps: stretches longer than one bar, with weekend closures
counted apart from gaps inside the trading week.

Examples
--------
>>> from botcopier.bridge.simulator.market import Bar
>>> bars = [Bar("EURUSD", t * 60_000, 1, 1.0, 1.0, 1.0, 1.0, spread_points=s)
...         for t, s in [(0, 10), (1, 12), (2, 11), (10, 30)]]
>>> stats = symbol_stats(bars)
>>> stats.bars, stats.gaps, stats.missing_bars, stats.spread_max
(4, 1, 7, 30)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from botcopier.bridge.simulator.market import Bar, read_bars_csv

_WEEKEND_MIN_MS = 40 * 3_600_000  # Friday close to Sunday open is at least ~40 h


@dataclass
class SymbolStats:
    symbol: str
    timeframe_minutes: int
    bars: int
    first: str
    last: str
    spread_min: int
    spread_p50: float
    spread_p90: float
    spread_p99: float
    spread_max: int
    spread_mean: float
    gaps: int  # inside the trading week
    missing_bars: int
    weekend_breaks: int
    largest_gaps: list[tuple[str, str]] = field(default_factory=list)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _is_weekend(start_ms: int, end_ms: int) -> bool:
    start = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    return end_ms - start_ms >= _WEEKEND_MIN_MS and start.weekday() >= 4


def _quantile(ordered: list[int], q: float) -> float:
    if len(ordered) == 1:
        return float(ordered[0])
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


def symbol_stats(bars: list[Bar]) -> SymbolStats:
    step_ms = bars[0].timeframe_minutes * 60_000
    spreads = sorted(bar.spread_points for bar in bars)
    gaps, missing, weekends, holes = 0, 0, 0, []
    for previous, current in zip(bars, bars[1:], strict=False):
        delta = current.time_ms - previous.time_ms
        if delta <= step_ms:
            continue
        if _is_weekend(previous.time_ms, current.time_ms):
            weekends += 1
            continue
        gaps += 1
        missing += delta // step_ms - 1
        holes.append((delta, previous.time_ms, current.time_ms))
    holes.sort(reverse=True)
    return SymbolStats(
        symbol=bars[0].symbol,
        timeframe_minutes=bars[0].timeframe_minutes,
        bars=len(bars),
        first=_iso(bars[0].time_ms),
        last=_iso(bars[-1].time_ms),
        spread_min=spreads[0],
        spread_p50=_quantile(spreads, 0.5),
        spread_p90=_quantile(spreads, 0.9),
        spread_p99=_quantile(spreads, 0.99),
        spread_max=spreads[-1],
        spread_mean=round(statistics.fmean(spreads), 2),
        gaps=gaps,
        missing_bars=missing,
        weekend_breaks=weekends,
        largest_gaps=[(_iso(start), _iso(end)) for _delta, start, end in holes[:5]],
    )


def analyze(path: Path, symbol: str | None = None) -> list[SymbolStats]:
    """Stats per symbol found in the file, in order of first appearance."""
    by_symbol: dict[str, list[Bar]] = {}
    for bar in read_bars_csv(path, symbol=symbol):
        by_symbol.setdefault(bar.symbol, []).append(bar)
    return [symbol_stats(bars) for bars in by_symbol.values()]


def describe(stats: Iterable[SymbolStats]) -> list[str]:
    lines = []
    for s in stats:
        lines += [
            f"{s.symbol} M{s.timeframe_minutes}: {s.bars} bars, {s.first} .. {s.last}",
            f"  spread (points): min {s.spread_min}, p50 {s.spread_p50:g}, p90 {s.spread_p90:g}, "
            f"p99 {s.spread_p99:g}, max {s.spread_max}, mean {s.spread_mean:g}",
            f"  gaps: {s.gaps} inside the week ({s.missing_bars} bars missing), "
            f"{s.weekend_breaks} weekend breaks",
        ]
        lines += [f"    largest gap: {start} -> {end}" for start, end in s.largest_gaps]
    return lines


def as_dicts(stats: Iterable[SymbolStats]) -> list[dict]:
    return [asdict(s) for s in stats]
