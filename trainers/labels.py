"""What the observed bot did on each bar, and what it held when it decided: from trade events.

A bot decides when a bar closes (MT4: on the first tick of the next bar). The events of one
bot are placed on its bars by time: an event at ``t`` belongs to the decision of the bar
that closed last at or before ``t``. Per bar:

- ``label``: ``buy`` or ``sell`` if the bot opened a position (the last one it opened, so a
  reversal, close then open, is the open), else ``close`` if it closed one itself, else
  ``none``. Stop-loss and take-profit fills are the broker's doing, not the bot's decision:
  they change the position, never the label. A partial close (``remaining_lots`` above 0)
  manages the position, as a stop modification does: it keeps the side, so it is not a
  ``close``, and the remainder it leaves open (``parent_ticket`` set) is not a new ``buy``
  or ``sell`` either.
- ``position``: 1 long, -1 short, 0 flat when it decided: every event before its first
  decision on that bar counts, stop fills included; without a decision, the events up to
  the bar's close (those that came later count for the next bar).

A close is a stop fill when its price is at or beyond the order's stop loss or take profit
(a gap fills beyond the level), or when MT4 marked its comment ``[sl]`` / ``[tp]``.

Examples
--------
>>> import pandas as pd
>>> bars = pd.DataFrame({"time_ms": [0, 60_000, 120_000], "timeframe_minutes": 1})
>>> opened = {"event_time_ms": 60_000, "action": "OPEN", "order_type": "BUY", "ticket": 1,
...           "lots": 0.1}
>>> closed = {**opened, "event_time_ms": 180_000, "action": "CLOSE", "close_price": 1.2,
...           "sl": 1.0, "tp": 0.0, "remaining_lots": 0.0}
>>> label_bars(bars, [opened, closed]).to_dict("list")
{'label': ['buy', 'none', 'close'], 'position': [0, 1, 1]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

LABELS = ("none", "buy", "sell", "close")
_MINUTE_MS = 60_000
_SIDES = {"BUY": 1, "SELL": -1}


def is_stop_fill(event: Mapping[str, Any]) -> bool:
    """A CLOSE the broker made at the order's stop loss or take profit."""
    comment = str(event.get("comment") or "").lower()
    if "[sl]" in comment or "[tp]" in comment:
        return True
    side = _SIDES.get(event.get("order_type", ""))
    price = event.get("close_price") or 0.0
    sl, tp = event.get("sl") or 0.0, event.get("tp") or 0.0
    if side is None or not price:
        return False
    if side == 1:
        return (sl > 0 and price <= sl) or (tp > 0 and price >= tp)
    return (sl > 0 and price >= sl) or (tp > 0 and price <= tp)


def _decision(event: Mapping[str, Any]) -> str | None:
    """The label an event stands for, or None if it is not the bot's own decision."""
    action, order_type = event["action"], event.get("order_type", "")
    if action == "OPEN" and order_type in _SIDES and not event.get("parent_ticket"):
        return order_type.lower()
    partial = float(event.get("remaining_lots") or 0.0) > 0
    if action == "CLOSE" and order_type in _SIDES and not partial and not is_stop_fill(event):
        return "close"
    return None


class _Book:
    """Open market positions by ticket (what the bot holds) and when it last entered and exited."""

    def __init__(self) -> None:
        self.lots: dict[int, float] = {}
        self.opened: dict[int, tuple[int, float]] = {}  # ticket: (open time ms, open price)
        self.last_entry_ms = -1
        self.last_exit_ms = -1

    def apply(self, event: Mapping[str, Any]) -> None:
        side = _SIDES.get(event.get("order_type", ""))
        if side is None:
            return  # a pending order holds nothing until it fills (reported as an OPEN)
        if event["action"] == "OPEN":
            self.lots[event["ticket"]] = side * float(event.get("lots") or 0.0)
            # A partial close's remainder keeps the open time of the order it came from.
            opened = int(event.get("open_time_ms") or event["event_time_ms"])
            self.opened[event["ticket"]] = (opened, float(event.get("open_price") or 0.0))
            self.last_entry_ms = max(self.last_entry_ms, opened)
        elif event["action"] == "CLOSE":
            self.lots.pop(event["ticket"], None)
            self.opened.pop(event["ticket"], None)
            # Any close, a partial one too, is an exit in MT4's account history.
            closed = int(event.get("close_time_ms") or event["event_time_ms"])
            self.last_exit_ms = max(self.last_exit_ms, closed)

    @property
    def side(self) -> int:
        net = sum(self.lots.values())
        return 0 if abs(net) < 1e-12 else (1 if net > 0 else -1)

    def state(self) -> tuple[int, float, int, int, int]:
        """(entry time ms, entry price) of the oldest open order (-1, 0 when flat), the last
        entry and exit times (-1: none yet), and how many orders are open."""
        entry_ms, entry_price = min(self.opened.values(), default=(-1, 0.0))
        return entry_ms, entry_price, self.last_entry_ms, self.last_exit_ms, len(self.lots)


def most_open_tickets(events: Iterable[Mapping[str, Any]]) -> int:
    """The most market orders the bot held at once (1 for a bot that never held any more)."""
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1]["event_time_ms"], pair[0]))
    book, most = _Book(), 1
    for _, event in ordered:
        book.apply(event)
        most = max(most, len(book.lots))
    return most


STATE_COLUMNS = ("entry_ms", "entry_price", "last_entry_ms", "last_exit_ms", "open_tickets")
# The state columns of an EA with no order open and none in its history.
FLAT_STATE = dict(zip(STATE_COLUMNS, _Book().state(), strict=True))


def label_bars(bars: pd.DataFrame, events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``label`` and ``position`` per bar of one bot's symbol and timeframe (rows as ``bars``).

    ``events`` are that bot's TradeEvents on that symbol, in the order they happened (ties in
    time keep that order).
    """
    return _walk(bars, events)[["label", "position"]]


def position_state(bars: pd.DataFrame, events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """What the bot held when it decided on each bar, in full: ``label`` and ``position`` as
    `label_bars`, and `STATE_COLUMNS` (the oldest open order's open time and price, the last
    entry and exit times, the number of open orders), from the same events at the same
    moment as ``position``."""
    return _walk(bars, events)


def _walk(bars: pd.DataFrame, events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    missing = {"time_ms", "timeframe_minutes"} - set(bars.columns)
    if missing:
        raise ValueError(f"bar frame lacks columns {sorted(missing)}")
    ends = (
        bars["time_ms"].to_numpy(dtype=np.int64)
        + bars["timeframe_minutes"].to_numpy(dtype=np.int64) * _MINUTE_MS
    )
    if len(ends) > 1 and (np.diff(ends) <= 0).any():
        raise ValueError("bars must be in time order, one per period")
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1]["event_time_ms"], pair[0]))
    timeline = [event for _, event in ordered]
    times = np.array([e["event_time_ms"] for e in timeline], dtype=np.int64)
    # Bar of each event: the last one that had closed at its time (-1: before the first).
    owner = np.searchsorted(ends, times, side="right") - 1
    book, applied = _Book(), 0
    labels, positions, states = [], [], []
    for i in range(len(ends)):
        mine = range(
            int(np.searchsorted(owner, i, side="left")),
            int(np.searchsorted(owner, i, side="right")),
        )
        decisions = [j for j in mine if _decision(timeline[j])]
        if decisions:
            # Everything before the bot's first decision here happened before it decided.
            until = decisions[0]
        else:
            # Fills stamped at the bar's close itself (as the simulator stamps them) came
            # before any decision; later ones belong to the next bar.
            until = mine.start + int(np.count_nonzero(times[mine.start : mine.stop] == ends[i]))
        while applied < until:
            book.apply(timeline[applied])
            applied += 1
        positions.append(book.side)
        states.append(book.state())
        chosen = [_decision(timeline[j]) for j in decisions]
        opens = [d for d in chosen if d in ("buy", "sell")]
        labels.append(opens[-1] if opens else ("close" if chosen else "none"))
    frame = pd.DataFrame({"label": labels, "position": positions}, index=bars.index)
    state = pd.DataFrame(states, columns=list(STATE_COLUMNS), index=bars.index)
    return pd.concat([frame, state.astype({"entry_price": float})], axis=1)
