"""Strategy.mqh's two loops in Python, line for line: BcDecide and BcOrdersFor.

The rest of Strategy.mqh is one-line arithmetic that `function_mirror` evaluates from its
MQL4 text; these two have loops and branches, so they are transliterated here instead and
tests hold them to ``codegen/strategy.py``. Keep both files in step.

Examples
--------
>>> decide([0.2, 0.7, 0.1], ["none", "buy", "sell"], [0.0, 0.65, 0.5], 0.1)
('buy', 0.7, 0.65, True)
>>> orders_for("sell", 1, 1, 1)
['close', 'open_sell']
"""

from __future__ import annotations

from collections.abc import Sequence


def decide(
    proba: Sequence[float], classes: Sequence[str], thresholds: Sequence[float], margin: float
) -> tuple[str, float, float, bool]:
    """BcDecide: (action, probability, threshold, uncertain)."""
    best, top = -1, -1
    best_p, top_p = -1.0, -1.0
    for k in range(1, len(classes)):
        if proba[k] > top_p:
            top, top_p = k, proba[k]
        if proba[k] >= thresholds[k] and proba[k] > best_p:
            best, best_p = k, proba[k]
    decided = best if best >= 0 else top
    action = classes[best] if best >= 0 else "none"
    if decided < 0:
        return action, 0.0, 1.0, False
    probability, threshold = proba[decided], thresholds[decided]
    return action, probability, threshold, abs(probability - threshold) <= margin


def orders_for(action: str, position: int, tickets: int, max_tickets: int) -> list[str]:
    """BcOrdersFor."""
    orders: list[str] = []
    if action == "close":
        if position != 0:
            orders.append("close")
        return orders
    if action not in ("buy", "sell"):
        return orders
    side = 1 if action == "buy" else -1
    if position == side:
        if tickets < max_tickets:
            orders.append("open_" + action)
        return orders
    if position != 0:
        orders.append("close")
    orders.append("open_" + action)
    return orders
