"""The position features: from the bot's trades when training, from the EA's own in a backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from botcopier.trainers.backtest import BacktestInputs, run_backtest
from botcopier.trainers.labels import position_state
from botcopier.trainers.position_features import POSITION_FEATURES, STATE_CAP_BARS

H = 3_600_000
BY_NAME = {f.name: f for f in POSITION_FEATURES}


def _bars(count: int) -> pd.DataFrame:
    closes = 1.1 + 0.0001 * np.arange(count)
    return pd.DataFrame({"time_ms": np.arange(count) * H, "timeframe_minutes": 60,
                         "open": closes, "high": closes + 0.0005, "low": closes - 0.0005,
                         "close": closes, "spread_points": 10})  # fmt: skip


def _trade(ticket: int, open_bar: int, close_bar: int | None, side: str = "BUY") -> list[dict]:
    opened = {"event_time_ms": (open_bar + 1) * H, "action": "OPEN", "order_type": side,
              "ticket": ticket, "lots": 0.1, "open_price": 1.1 + 0.0001 * open_bar,
              "open_time_ms": (open_bar + 1) * H}  # fmt: skip
    if close_bar is None:
        return [opened]
    return [opened, {**opened, "action": "CLOSE", "event_time_ms": (close_bar + 1) * H,
                     "close_time_ms": (close_bar + 1) * H, "close_price": 1.2, "sl": 0.0,
                     "tp": 0.0, "remaining_lots": 0.0}]  # fmt: skip


def test_state_from_the_bots_trades():
    bars = _bars(30)
    # Decides to buy on bar 3 (fills at bar 4's open), closes on bar 8; a second buy on 12.
    events = _trade(1, 3, 8) + _trade(2, 12, None) + _trade(3, 14, None)
    state = position_state(bars, events)
    frame = bars.assign(**{c: state[c] for c in state.columns if c != "label"})
    age = BY_NAME["position_bars"].compute(frame)
    assert age[3] == 0 and age[4] == 1 and age[8] == 5 and age[9] == 0
    since_exit = BY_NAME["bars_since_exit"].compute(frame)
    assert since_exit[8] == STATE_CAP_BARS and since_exit[9] == 1 and since_exit[11] == 3
    since_entry = BY_NAME["bars_since_entry"].compute(frame)
    assert since_entry[3] == STATE_CAP_BARS and since_entry[5] == 2 and since_entry[13] == 1
    assert BY_NAME["open_tickets"].compute(frame)[16].item() == 2  # pyramided: two tickets
    assert age[16] == 4  # measured from the oldest ticket (bar 13's open)
    pl = BY_NAME["position_pl_atr"].compute(frame)
    assert pl[9] == 0.0 and pl[20] > 0  # a buy in a rising market gains


def test_a_backtest_feeds_the_model_its_own_position_age():
    """A model that buys when flat and closes once its position is 3 bars old."""
    model = {
        "name": "m", "bot": {"symbol": "EURUSD", "timeframe_minutes": 60},
        "classes": ["none", "buy", "close"], "thresholds": {"buy": 0.5, "close": 0.5},
        "features": [{"name": "position"}, {"name": "position_bars"}],
        "scaler": {"mean": [0.0, 0.0], "scale": [1.0, 1.0]},
        "estimator": {"family": "linear", "coefficients": [[0.0, 0.0], [-10.0, 0.0], [10.0, 4.0]],
                      "intercepts": [0.0, 5.0, -20.0]},
    }  # fmt: skip
    result = run_backtest([model], _bars(40), BacktestInputs())
    closed = [t for t in result.trades if t.reason == "signal"]
    assert len(closed) >= 5
    assert {(t.close_time_ms - t.open_time_ms) // H for t in closed} == {3}
    # The next entry follows the close by one bar: flat again, the model buys.
    assert all(b.open_time_ms - a.close_time_ms == H for a, b in zip(closed, closed[1:]))
    actions = [action for _, action in result.decisions]
    assert actions.count("buy") == len(result.trades) and "close" in actions
