"""Rolling performance of one bot over its closed trades, River style: `update`, then `get`.

Definitions (the same as the Observer EA's snapshots and the simulator's):

- a trade's result is its net profit: profit + swap + commission;
- the window holds the trades closed in the last ``window_days`` before the latest close
  (event time, not wall clock, so a replay computes the same numbers);
- win rate: share of trades with a net profit above zero; average and total profit;
- max drawdown: the largest fall of the cumulative profit from its running peak, the
  curve starting at zero at the window's start;
- Sharpe: mean over population standard deviation of the results (0 when that is below
  1e-9, float residue of equal results; the MQL4 Observer uses the same cut);
- profit factor: gross profit over gross loss, None without losses.

Trades older than ``retention_days`` are forgotten.

Examples
--------
>>> metrics = RollingTradeMetrics(window_days=30)
>>> for day, net in [(1, 10.0), (2, -5.0), (3, 20.0), (4, -30.0)]:
...     forgotten = metrics.update(day * 86_400_000, net)
>>> m = metrics.get()
>>> m["trade_count"], m["win_rate"], m["max_drawdown"], m["profit_factor"]
(4, 0.5, 30.0, 0.8571428571428571)
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from typing import Any

DAY_MS = 86_400_000


class RollingTradeMetrics:
    def __init__(self, window_days: int = 30, retention_days: int | None = None) -> None:
        if window_days < 1:
            raise ValueError("window_days must be >= 1")
        retention_days = window_days if retention_days is None else retention_days
        if retention_days < window_days:
            raise ValueError("retention_days must be >= window_days")
        self.window_days = window_days
        self.retention_days = retention_days
        self._times: list[int] = []
        self._results: list[float] = []
        self._keys: list[Any] = []

    def update(self, close_time_ms: int, net_profit: float, key: Any = None) -> list[Any]:
        """Add one closed trade (late arrivals are placed by their close time).

        ``key`` names the trade (an event id); the keys of the trades this update pushed
        out of the retention are returned, so whoever stores them can forget them too.
        """
        index = bisect.bisect_right(self._times, close_time_ms)
        self._times.insert(index, close_time_ms)
        self._results.insert(index, net_profit)
        self._keys.insert(index, key)
        cutoff = self._times[-1] - self.retention_days * DAY_MS
        drop = bisect.bisect_right(self._times, cutoff)
        if not drop:
            return []
        dropped = self._keys[:drop]
        del self._times[:drop], self._results[:drop], self._keys[:drop]
        return dropped

    def get(self) -> dict[str, Any]:
        """The metrics over the window ending at the latest close."""
        if not self._times:
            return summarize([])
        start = bisect.bisect_right(self._times, self._times[-1] - self.window_days * DAY_MS)
        return summarize(self._results[start:])

    def trades(self) -> list[tuple[int, float, Any]]:
        """The kept trades as (close time, result, key), oldest first."""
        return list(zip(self._times, self._results, self._keys, strict=True))

    def __len__(self) -> int:
        return len(self._times)


def summarize(results: list[float]) -> dict[str, Any]:
    """The metrics of a list of per-trade results, oldest first."""
    count = len(results)
    if count == 0:
        return {
            "trade_count": 0,
            "win_rate": 0.0,
            "avg_profit": 0.0,
            "total_profit": 0.0,
            "max_drawdown": 0.0,
            "sharpe": 0.0,
            "profit_factor": None,
        }
    # Built from C-level iterators: the agents call this on every close, over the window.
    total = math.fsum(results)
    mean = total / count
    equity = list(itertools.accumulate(results))
    peaks = itertools.accumulate(equity, max, initial=0.0)
    next(peaks)  # the curve's start, 0, is only a peak candidate
    drawdown = max(0.0, max(map(operator.sub, peaks, equity)))
    deviations = [r - mean for r in results]
    std = math.sqrt(math.fsum(map(operator.mul, deviations, deviations)) / count)
    wins = [r for r in results if r > 0]
    gross_profit = math.fsum(wins)
    gross_loss = -math.fsum(r for r in results if r < 0)
    return {
        "trade_count": count,
        "win_rate": len(wins) / count,
        "avg_profit": mean,
        "total_profit": total,
        "max_drawdown": drawdown,
        "sharpe": mean / std if std > 1e-9 else 0.0,
        "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
    }
