"""A scripted order sequence as the Observer EA would report it, for the golden frames.

One bot (magic 1001) opens 0.3 lots, moves its stop, closes a third (MT4 reopens the rest
under a new ticket linked by parent_ticket), closes the rest; then a metric snapshot, a tick
and a bar. Values include the awkward cases: quotes and backslashes in a comment, a double
that needs rounding (0.1 + 0.2), nulls, negatives.
"""

from __future__ import annotations

ACCOUNT, EA_ID, MAGIC = 123456, "observer-123456", 1001
T0_MS = 1_735_714_800_000  # 2025-01-01 07:00:00 UTC


def _event_id(seq: int) -> str:
    return f"{ACCOUNT}-{EA_ID}-{seq}"


def _trade(seq: int, **fields) -> tuple[str, int, dict]:
    record = {
        "event_id": _event_id(seq),
        "event_time_ms": T0_MS + seq * 60_000,
        "account": ACCOUNT,
        "broker": "Demo Broker Ltd",
        "magic": MAGIC,
        "ticket": 1_001_001,
        "parent_ticket": None,
        "symbol": "EURUSD",
        "order_type": "BUY",
        "lots": 0.3,
        "open_price": 1.08512,
        "open_time_ms": T0_MS,
        "close_price": None,
        "close_time_ms": None,
        "sl": 1.08012,
        "tp": 0.0,
        "profit": 0.0,
        "swap": 0.0,
        "commission": 0.0,
        "comment": 'ma "cross" \\ v1',
        "spread_points": 12,
        "remaining_lots": 0.3,
    }
    return "trade", seq, {**record, **fields}


SCENARIO: list[tuple[str, int, dict]] = [
    _trade(1, action="OPEN"),
    _trade(2, action="MODIFY", sl=1.08312, tp=1.09512),
    _trade(
        3,
        action="CLOSE",
        lots=0.1,
        remaining_lots=0.2,
        close_price=1.08712,
        close_time_ms=T0_MS + 180_000,
        profit=20.0,
        commission=-0.7,
        sl=1.08312,
        tp=1.09512,
    ),
    _trade(
        4,
        action="OPEN",
        ticket=1_001_002,
        parent_ticket=1_001_001,
        lots=0.2,
        remaining_lots=0.2,
        comment="from #1001001",
        sl=1.08312,
        tp=1.09512,
    ),
    _trade(
        5,
        action="CLOSE",
        ticket=1_001_002,
        parent_ticket=1_001_001,
        lots=0.2,
        remaining_lots=0.0,
        close_price=1.0865,
        close_time_ms=T0_MS + 300_000,
        profit=27.6,
        swap=-0.35,
        commission=-1.4,
        comment="from #1001001",
        sl=1.08312,
        tp=1.09512,
    ),
    (
        "metric",
        6,
        {
            "event_id": _event_id(6),
            "event_time_ms": T0_MS + 360_000,
            "account": ACCOUNT,
            "magic": MAGIC,
            "window_days": 30,
            "win_rate": 1.0,
            "avg_profit": 0.1 + 0.2,
            "trade_count": 2,
            "max_drawdown": 0.0,
            "sharpe": -1.23456789012,
            "file_write_errors": 0,
            "socket_errors": 1,
        },
    ),
    (
        "tick",
        7,
        {
            "event_id": _event_id(7),
            "event_time_ms": T0_MS + 420_000,
            "broker": "Demo Broker Ltd",
            "symbol": "EURUSD",
            "bid": 1.08649,
            "ask": 1.08661,
            "volume": 3,
        },
    ),
    (
        "bar",
        8,
        {
            "event_id": _event_id(8),
            "event_time_ms": T0_MS,
            "broker": "Demo Broker Ltd",
            "symbol": "EURUSD",
            "timeframe_minutes": 60,
            "open": 1.085,
            "high": 1.0875,
            "low": 1.0849,
            "close": 1.0866,
            "tick_volume": 1234,
            "spread_points": 10,
        },
    ),
    (
        "decision",
        9,
        {
            "event_id": _event_id(9),
            "event_time_ms": T0_MS + 3_600_000,
            "account": 900001,
            "magic": 7001001,
            "symbol": "EURUSD",
            "model_name": "clone-900001-1001",
            "model_version": "20261128T010000Z-1a2b3c4d",
            "action": "OPEN_BUY",
            "probability": 0.8125,
            "threshold": 0.6,
            "features": {"rsi_14": 27.53, "position": 0.0, "sma_gap_5_20": -0.00012345},
            "uncertain": False,
        },
    ),
]
