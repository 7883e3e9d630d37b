"""The zoo's bots over the real histories, run once per test session and shared."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pandas as pd

from botcopier.bridge.simulator.history import DATASETS, dataset_bars, real_bar_frame
from botcopier.bridge.simulator.market import Bar
from botcopier.bridge.simulator.zoo import ZooRun, run_zoo_bot


@cache
def zoo_run(bot: str, dataset: str = "EURUSD_H1") -> ZooRun:
    """Zoo bot ``bot`` run over dataset ``dataset`` (a name of `DATASETS`)."""
    return run_zoo_bot(bot, dataset_bars(dataset))


@cache
def zoo_frame(dataset: str = "EURUSD_H1") -> pd.DataFrame:
    """The bar frame the trainers read for ``dataset``."""
    return real_bar_frame(*DATASETS[dataset])


def utc_ms(text: str) -> int:
    """Epoch ms of an ISO time read as UTC (``"2024-01-02 07:00"``)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def bars_from_closes(
    closes: list[float],
    *,
    start: str = "2024-01-02 00:00",
    symbol: str = "EURUSD",
    minutes: int = 60,
    wick: float = 0.0002,
    spread_points: int = 10,
) -> list[Bar]:
    """Hand-built bars: each opens at the previous close and reaches ``wick`` beyond its body."""
    bars, previous = [], closes[0]
    for i, close in enumerate(closes):
        bars.append(
            Bar(
                symbol=symbol,
                time_ms=utc_ms(start) + i * minutes * 60_000,
                timeframe_minutes=minutes,
                open=previous,
                high=round(max(previous, close) + wick, 5),
                low=round(min(previous, close) - wick, 5),
                close=close,
                spread_points=spread_points,
            )
        )
        previous = close
    return bars
