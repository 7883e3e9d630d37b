"""A backtest's figures, in the same definitions as the live metrics, and where they go.

The figures of the closed trades are `botcopier.streams.rolling.summarize`'s, the ones the
agents and the Observer EA report live, so a backtest and a live bot compare directly:

- a trade's result is its net profit (commission included); win rate: share above zero;
- profit factor: gross profit over gross loss (None without a loss);
- max drawdown (money): the largest fall of the closed-trade equity curve (cumulative
  profit, starting at 0) from its running peak; ``max_drawdown_pct`` is the largest such
  fall relative to the peak balance (``initial_balance`` plus the profit at the peak);
- Sharpe: mean over population standard deviation of the per-trade results (0 below
  1e-9). Per trade and not annualised: trades are not evenly spaced in time, and the live
  figure it is compared with is defined the same way.

`metrics_row` writes one row in the seed project's ``metrics.csv`` layout
(``time;magic;win_rate;avg_profit;trade_count;drawdown;sharpe``, which `botcopier import
metrics` reads), appending under an existing file's own header.

Examples
--------
>>> m = trade_figures([10.0, -5.0, 20.0, -30.0], initial_balance=1_000.0)
>>> m["trade_count"], m["win_rate"], m["profit_factor"], m["max_drawdown"]
(4, 0.5, 0.8571428571428571, 30.0)
>>> round(m["max_drawdown_pct"], 4)  # 30 of a peak balance of 1025
2.9268
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botcopier.streams.rolling import summarize
from botcopier.trainers.backtest import BacktestInputs, BacktestResult

SEED_METRICS_COLUMNS = ("time", "magic", "win_rate", "avg_profit", "trade_count", "drawdown",
                        "sharpe")  # fmt: skip


def trade_figures(results: Sequence[float], *, initial_balance: float) -> dict[str, Any]:
    """`summarize`'s figures of the per-trade results, plus the drawdown in percent."""
    figures = summarize(list(results))
    balance = peak = initial_balance
    worst_pct = 0.0
    for result in results:
        balance += result
        peak = max(peak, balance)
        if peak > 0:
            worst_pct = max(worst_pct, (peak - balance) / peak * 100.0)
    return {**figures, "max_drawdown_pct": worst_pct}


def report(
    models: Sequence[Mapping[str, Any]],
    result: BacktestResult,
    inputs: BacktestInputs,
    market: str,
) -> dict[str, Any]:
    """The whole backtest as a JSON-ready document: what ran, on what, its figures and trades."""
    bot = models[0]["bot"]
    results = [trade.profit for trade in result.trades]
    return {
        "models": [{"name": m["name"], "version": m.get("version")} for m in models],
        "symbol": bot["symbol"],
        "timeframe_minutes": bot["timeframe_minutes"],
        "market": market,
        "bars": result.bars,
        "from_ms": result.first_time_ms,
        "until_ms": result.last_time_ms,
        "inputs": {
            **{k: v for k, v in vars(inputs).items() if k != "strategy"},
            "strategy": vars(inputs.strategy),
        },
        "figures": trade_figures(results, initial_balance=inputs.initial_balance),
        "closes_by_reason": dict(Counter(trade.reason for trade in result.trades)),
        "uncertain_decisions": result.uncertain_decisions,
        "trades": [trade.as_dict() for trade in result.trades],
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def describe(doc: Mapping[str, Any]) -> list[str]:
    f = doc["figures"]
    factor = "n/a (no loss)" if f["profit_factor"] is None else f"{f['profit_factor']:.3f}"
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(doc["closes_by_reason"].items()))
    return [
        f"{'+'.join(m['name'] for m in doc['models'])} on {doc['symbol']} "
        f"M{doc['timeframe_minutes']} ({doc['market']}): {doc['bars']} bars, "
        f"{_iso(doc['from_ms'])} .. {_iso(doc['until_ms'])}",
        f"trades         {f['trade_count']}  (closed by: {reasons or 'none'})",
        f"win rate       {f['win_rate']:.4f}",
        f"profit factor  {factor}",
        f"total profit   {f['total_profit']:.2f}  (average {f['avg_profit']:.2f} per trade)",
        f"max drawdown   {f['max_drawdown']:.2f}  ({f['max_drawdown_pct']:.2f}% of the peak "
        f"balance)",
        f"sharpe         {f['sharpe']:.4f}  (per trade, not annualised)",
    ]


def result_line(doc: Mapping[str, Any]) -> str:
    f = doc["figures"]
    fields = {
        "model": "+".join(m["name"] for m in doc["models"]),
        "symbol": doc["symbol"],
        "timeframe": doc["timeframe_minutes"],
        "bars": doc["bars"],
        "trades": f["trade_count"],
        "win_rate": f"{f['win_rate']:.4f}",
        "profit_factor": "none" if f["profit_factor"] is None else f"{f['profit_factor']:.4f}",
        "total_profit": f"{f['total_profit']:.2f}",
        "avg_profit": f"{f['avg_profit']:.4f}",
        "max_drawdown": f"{f['max_drawdown']:.2f}",
        "max_drawdown_pct": f"{f['max_drawdown_pct']:.4f}",
        "sharpe": f"{f['sharpe']:.4f}",
    }
    return "RESULT " + " ".join(f"{k}={v}" for k, v in fields.items())


def write_report(doc: Mapping[str, Any], path: Path) -> None:
    Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def metrics_row(doc: Mapping[str, Any], magic: int, path: Path) -> None:
    """Append the figures as one seed ``metrics.csv`` row (header first in a new file)."""
    path = Path(path)
    f = doc["figures"]
    values = {
        "time": datetime.fromtimestamp(doc["until_ms"] / 1000, tz=UTC).strftime(
            "%Y.%m.%d %H:%M:%S"
        ),
        "magic": magic,
        "win_rate": f"{f['win_rate']:.6f}",
        "avg_profit": f"{f['avg_profit']:.6f}",
        "trade_count": f["trade_count"],
        "drawdown": f"{f['max_drawdown']:.6f}",
        "max_drawdown": f"{f['max_drawdown']:.6f}",
        "sharpe": f"{f['sharpe']:.6f}",
        "total_profit": f"{f['total_profit']:.6f}",
        "profit_factor": "" if f["profit_factor"] is None else f"{f['profit_factor']:.6f}",
    }
    if path.is_file() and path.stat().st_size:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline().strip()
        delimiter = max((";", ",", "\t"), key=first.count)
        header = [name.strip() for name in first.split(delimiter)]
        row = [str(values.get(name.lower(), "")) for name in header]
        lines = [row]
    else:
        delimiter, header = ";", list(SEED_METRICS_COLUMNS)
        lines = [header, [str(values[name]) for name in header]]
    with path.open("a", encoding="utf-8", newline="") as out:
        csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(lines)
