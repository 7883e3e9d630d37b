"""Break-even and trailing distances learned from a bot's stop moves (trainers/stop_management)."""

from __future__ import annotations

import pandas as pd
import pytest

from botcopier.bridge.simulator.history import bar_frame, dataset_bars
from botcopier.bridge.simulator.zoo import run_zoo_bot
from botcopier.trainers.stop_management import learn_management, price_digits

HOUR_MS = 3_600_000


def test_a_fixed_trailing_stop_is_learned_and_an_atr_trailing_one_is_not():
    """bb-20-2-breakout trails 20 pips behind; adx-14-di trails 2x ATR 14, a different
    distance every time, which no constant would copy."""
    bars = dataset_bars("EURUSD_H1")
    frame = bar_frame(bars)
    fixed = learn_management(run_zoo_bot("bb-20-2-breakout", bars).events, frame)
    assert fixed == {"break_even_distance": None, "trailing_distance": pytest.approx(0.0020)}
    atr = learn_management(run_zoo_bot("adx-14-di", bars).events, frame)
    assert atr["trailing_distance"] is None
    never = learn_management(run_zoo_bot("ema-8-21", bars).events, frame)
    assert never == {"break_even_distance": None, "trailing_distance": None}


def _order(ticket: int, side: str, t: int, price: float, sl: float) -> dict:
    return {"event_time_ms": t, "action": "OPEN", "order_type": side, "ticket": ticket,
            "open_price": price, "sl": sl, "spread_points": 20}  # fmt: skip


def test_a_break_even_is_the_smallest_gain_it_moved_at_read_on_the_closing_side():
    """Sells move at the ask: the bar's close plus the event's spread (20 points, 2 pips)."""
    closes = [1.1000, 1.0980, 1.0975, 1.0960, 1.0950, 1.09905]  # quoted in 5 digits
    bars = pd.DataFrame({"time_ms": [k * HOUR_MS for k in range(6)], "timeframe_minutes": 60,
                         "close": closes})  # fmt: skip
    events = []
    for k, gain_close in enumerate([1.0980, 1.0975, 1.0960]):
        opened = _order(k, "SELL", 0, 1.1000, 1.1030)
        bar = closes.index(gain_close)
        moved = {**opened, "action": "MODIFY", "event_time_ms": (bar + 1) * HOUR_MS,
                 "sl": 1.1000}  # fmt: skip
        events += [opened, moved, {**moved, "action": "CLOSE"}]
    learned = learn_management(events, bars, min_moves=3)
    # Gains at the ask: 1.1000 - (1.0980 + 0.0002) = 0.0018, then 0.0023 and 0.0038.
    assert learned == {"break_even_distance": pytest.approx(0.0018), "trailing_distance": None}
    assert learn_management(events, bars, min_moves=4)["break_even_distance"] is None


def test_a_move_away_from_profit_or_a_first_level_is_not_management():
    bars = pd.DataFrame({"time_ms": [0, HOUR_MS], "timeframe_minutes": 60,
                         "close": [1.1050, 1.1060]})  # fmt: skip
    opened = _order(1, "BUY", 0, 1.1000, 0.0)
    first = {**opened, "action": "MODIFY", "event_time_ms": HOUR_MS, "sl": 1.0970}  # ECN level
    wider = {**first, "event_time_ms": 2 * HOUR_MS, "sl": 1.0960}  # away from profit
    assert learn_management([opened, first, wider], bars, min_moves=1) == {
        "break_even_distance": None, "trailing_distance": None}  # fmt: skip


def test_the_chart_digits_are_the_fewest_that_write_every_close():
    assert price_digits(pd.Series([1.1, 1.12345, 1.2]).to_numpy()) == 5
    assert price_digits(pd.Series([512.25, 513.5]).to_numpy()) == 2
    assert price_digits(pd.Series([100.0, 101.0]).to_numpy()) == 0
