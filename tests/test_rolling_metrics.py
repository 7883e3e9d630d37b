"""Rolling bot metrics against a pandas recomputation, on every prefix of a trade stream."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from botcopier.streams.rolling import DAY_MS, RollingTradeMetrics


def pandas_metrics(trades: pd.DataFrame, now_ms: int, window_days: int) -> dict:
    window = trades[trades["time"] > now_ms - window_days * DAY_MS].sort_values(
        "time", kind="stable"
    )
    net = window["net"]
    equity = net.cumsum()
    peak = equity.cummax().clip(lower=0.0)
    losses = -net[net < 0].sum()
    std = net.std(ddof=0)
    return {
        "trade_count": len(net),
        "win_rate": float((net > 0).mean()),
        "avg_profit": float(net.mean()),
        "total_profit": float(net.sum()),
        "max_drawdown": float(max((peak - equity).max(), 0.0)),
        "sharpe": float(net.mean() / std) if std > 1e-9 else 0.0,
        "profit_factor": float(net[net > 0].sum() / losses) if losses > 0 else None,
    }


def assert_close(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        if value is None:
            assert ours[key] is None, key
        else:
            assert math.isclose(ours[key], value, rel_tol=1e-9, abs_tol=1e-9), (key, ours, theirs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_prefix_matches_pandas(seed):
    rng = random.Random(seed)
    window_days = 30
    metrics = RollingTradeMetrics(window_days=window_days, retention_days=45)
    rows, time_ms = [], 0
    for _ in range(400):
        time_ms += rng.randint(1, 36) * 3_600_000
        net = round(rng.gauss(2.0, 25.0), 2)
        if rng.random() < 0.05:
            net = 0.0  # breakeven trades count, but not as wins
        rows.append((time_ms, net))
        metrics.update(time_ms, net)
        trades = pd.DataFrame(rows, columns=["time", "net"])
        assert_close(metrics.get(), pandas_metrics(trades, time_ms, window_days))
    # Retention: nothing older than 45 days before the last close is kept.
    assert len(metrics) == sum(1 for t, _ in rows if t > time_ms - 45 * DAY_MS)


def test_late_trade_is_placed_by_its_close_time():
    metrics = RollingTradeMetrics(window_days=10)
    for day, net in [(1, 5.0), (3, -2.0), (2, 7.0)]:
        metrics.update(day * DAY_MS, net)
    trades = pd.DataFrame(
        [(DAY_MS, 5.0), (3 * DAY_MS, -2.0), (2 * DAY_MS, 7.0)], columns=["time", "net"]
    )
    assert_close(metrics.get(), pandas_metrics(trades, 3 * DAY_MS, 10))


def test_retention_returns_the_keys_it_forgets():
    metrics = RollingTradeMetrics(window_days=5, retention_days=7)
    dropped = []
    for day in range(1, 12):
        dropped += metrics.update(day * DAY_MS, float(day % 3 - 1), key=f"t{day}")
    assert dropped == ["t1", "t2", "t3", "t4"]  # at day 11, day 4 is exactly 7 days old: gone
    assert [key for _t, _r, key in metrics.trades()] == [f"t{d}" for d in range(5, 12)]
    restored = RollingTradeMetrics(window_days=5, retention_days=7)
    for time_ms, result, key in metrics.trades():
        restored.update(time_ms, result, key)
    assert restored.get() == metrics.get() and restored.trades() == metrics.trades()


def test_empty_and_invalid_windows():
    assert RollingTradeMetrics().get()["trade_count"] == 0
    with pytest.raises(ValueError, match="retention_days"):
        RollingTradeMetrics(window_days=30, retention_days=10)
