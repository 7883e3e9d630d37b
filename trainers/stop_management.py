"""How the bot manages an open order's stop: break-even and trailing, learned from its MODIFYs.

Retail EAs move the stop loss of an open order in two common ways: to the open price once
the order is some distance in profit (break-even), and along behind the price at a fixed
distance (trailing). Both show in the trade log as MODIFY events that move ``sl`` towards
profit. Each such move is read against the price the bot saw when it decided, the close of
the last bar closed at or before the event (bid for a buy; for a sell the ask, that close
plus the event's ``spread_points``):

- a move *to the open price* is a break-even; its distance is the order's gain then, and
  the smallest over the moves is kept (the bot moved at the first bar that reached it);
- any other move is trailing; its distance is the price minus the new stop, on the side
  held. Kept only when the bot's distances agree (the middle 80% within 10% of their
  median): a stop trailed at a multiple of ATR moves at a different distance every time,
  and a constant would trail it wrongly, so none is learned.

Distances are in price units, rounded to the chart's point, and go into the model
document's ``management`` section; the strategy EA and the backtest use them unless the
trader set ``BreakEvenPips`` / ``TrailingPips`` (`botcopier.codegen.strategy.managed_inputs`).

Examples
--------
>>> import pandas as pd
>>> bars = pd.DataFrame({"time_ms": [0, 3_600_000], "timeframe_minutes": 60,
...                      "close": [1.10300, 1.10450]})
>>> opened = {"event_time_ms": 0, "action": "OPEN", "order_type": "BUY", "ticket": 1,
...           "open_price": 1.10000, "sl": 1.09700, "spread_points": 10}
>>> moves = [{**opened, "action": "MODIFY", "event_time_ms": 3_600_000, "sl": 1.10100},
...          {**opened, "action": "MODIFY", "event_time_ms": 7_200_000, "sl": 1.10250}]
>>> learn_management([opened, *moves], bars, min_moves=2)
{'break_even_distance': None, 'trailing_distance': 0.002}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

_SIDES = {"BUY": 1, "SELL": -1}
_MINUTE_MS = 60_000
_AGREEMENT = 0.10  # the middle 80% of trailing distances within this share of their median


def price_digits(closes: np.ndarray) -> int:
    """The decimals the chart quotes in: the fewest that write every close exactly."""
    for digits in range(9):
        if np.allclose(np.round(closes, digits), closes, rtol=0.0, atol=1e-10):
            return digits
    return 8


def learn_management(
    events: Iterable[Mapping[str, Any]], bars: pd.DataFrame, *, min_moves: int = 5
) -> dict[str, float | None]:
    """``break_even_distance`` and ``trailing_distance`` (price units; None: not learned)."""
    ordered = sorted(events, key=lambda e: e["event_time_ms"])
    ends = (bars["time_ms"] + bars["timeframe_minutes"] * _MINUTE_MS).to_numpy(np.int64)
    closes = bars["close"].to_numpy(float)
    digits = price_digits(closes)
    point = 10.0**-digits
    orders: dict[int, tuple[int, float, float]] = {}  # ticket: (side, open price, stop)
    break_evens: list[float] = []
    trails: list[float] = []
    for event in ordered:
        side = _SIDES.get(event.get("order_type", ""))
        ticket, action = event.get("ticket"), event["action"]
        if side is None:
            continue
        if action == "OPEN":
            orders[ticket] = (side, float(event.get("open_price") or 0.0), float(event["sl"] or 0))
            continue
        if action == "CLOSE":
            orders.pop(ticket, None)
            continue
        if action != "MODIFY" or ticket not in orders:
            continue
        side, opened, before = orders[ticket]
        stop = float(event.get("sl") or 0.0)
        orders[ticket] = (side, opened, stop)
        better = stop and (not before or side * (stop - before) > 0)
        bar = int(np.searchsorted(ends, event["event_time_ms"], side="right")) - 1
        if not better or bar < 0:
            continue
        price = closes[bar] + (0.0 if side > 0 else float(event.get("spread_points") or 0) * point)
        if abs(stop - opened) < point / 2:
            break_evens.append(side * (price - opened))
        elif before:
            trails.append(side * (price - stop))
    return {
        "break_even_distance": _rounded(min(break_evens), digits)
        if len(break_evens) >= min_moves
        else None,
        "trailing_distance": _agreed(trails, digits) if len(trails) >= min_moves else None,
    }


def _agreed(distances: list[float], digits: int) -> float | None:
    low, middle, high = np.quantile(distances, [0.1, 0.5, 0.9])
    if middle <= 0 or high - low > _AGREEMENT * middle:
        return None
    return _rounded(float(middle), digits)


def _rounded(distance: float, digits: int) -> float | None:
    return round(distance, digits) if distance > 0 else None
