"""Example records for the demo and tests: one valid record per schema, deterministic."""

from __future__ import annotations

from typing import Any

_T0_MS = 1_700_000_000_000


def sample_trade_event(event_id: str = "demo-1", ticket: int = 1001) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_time_ms": _T0_MS,
        "account": 123456,
        "broker": "Demo Broker Ltd",
        "magic": 777,
        "ticket": ticket,
        "symbol": "EURUSD",
        "action": "OPEN",
        "order_type": "BUY",
        "lots": 0.1,
        "open_price": 1.08512,
        "open_time_ms": _T0_MS,
        "sl": 1.08012,
        "tp": 1.09512,
        "comment": "demo",
        "spread_points": 12,
        "remaining_lots": 0.1,
        "ea_id": "observer-1",
        "seq": 1,
    }


def sample_records() -> dict[str, dict[str, Any]]:
    """One complete record per schema in the catalogue, keyed by schema name."""
    head = {
        "event_time_ms": _T0_MS,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
    }
    bot = {"account": 123456, "magic": 777}
    return {
        "TradeEvent": sample_trade_event(),
        "MetricSnapshot": {
            **head,
            **bot,
            "event_id": "m-1",
            "window_days": 30,
            "win_rate": 0.55,
            "avg_profit": 3.2,
            "trade_count": 40,
            "max_drawdown": 120.5,
            "sharpe": 0.8,
        },
        "Tick": {
            **head,
            "event_id": "t-1",
            "symbol": "EURUSD",
            "bid": 1.0851,
            "ask": 1.0852,
            "volume": 3,
        },
        "Bar": {
            **head,
            "event_id": "b-1",
            "symbol": "EURUSD",
            "timeframe_minutes": 60,
            "open": 1.0850,
            "high": 1.0870,
            "low": 1.0840,
            "close": 1.0861,
            "tick_volume": 1234,
            "spread_points": 10,
        },
        "BotMetrics": {
            **head,
            **bot,
            "event_id": "bm-1",
            "window_days": 30,
            "trade_count": 40,
            "win_rate": 0.55,
            "avg_profit": 3.2,
            "total_profit": 128.0,
            "max_drawdown": 120.5,
            "sharpe": 0.8,
            "profit_factor": 1.4,
            "last_event_id": "demo-1",
        },
        "DriftEvent": {
            **head,
            **bot,
            "event_id": "d-1",
            "detector": "adwin",
            "statistic": 0.31,
            "threshold": 0.002,
        },
        "RetrainRequest": {
            **head,
            "event_id": "r-1",
            "model_name": "clone-777",
            "account": 123456,
            "magic": 777,
            "reason": "drift",
            "from_offsets": [{"topic": "botcopier.trade-events", "partition": 0, "offset": 42}],
        },
        "ModelPublished": {
            **head,
            "event_id": "mp-1",
            "model_name": "clone-777",
            "model_version": "20231114T221320Z",
            "model_json": "{}",
            "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "metrics": {"accuracy": 0.71},
            "feature_flags": {"rsi": True},
        },
        "RetrainDecision": {
            **head,
            "event_id": "rd-1",
            "model_name": "clone-777",
            "request_event_id": "r-1",
            "outcome": "REJECTED",
            "reason": "candidate entry_macro_f1 0.90 is not above live 0.92 + margin 0.01",
            "candidate_version": "20231114T221320Z-0a1b2c3d",
            "candidate_score": 0.9,
            "live_version": "20231101T000000Z-9f8e7d6c",
            "live_score": 0.92,
        },
        "Decision": {
            **head,
            **bot,
            "event_id": "dc-1",
            "symbol": "EURUSD",
            "model_name": "clone-777",
            "model_version": "20231114T221320Z",
            "action": "OPEN_BUY",
            "probability": 0.74,
            "threshold": 0.6,
            "features": {"rsi_14": 31.5},
            "uncertain": False,
        },
        "DeadLetter": {
            **head,
            "event_id": "dl-1",
            "source": "bridge",
            "reason_code": "invalid_json",
            "reason": "Expecting value: line 1",
            "raw": b"{not json\n",
            "remote": "127.0.0.1:50000",
        },
    }
