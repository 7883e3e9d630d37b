"""The generated strategy EA's trading rules, in Python: the reference the EA is pinned to.

The EA (``codegen/templates``) and this module implement the same rules, and the backtester
and decision replay use this one, so a backtest trades as the EA would:

- **Probabilities**: each model's `predict_proba` on its own features; several models (an
  ensemble, all with the same classes) are averaged, and so are their thresholds.
- **Decision** (`decide_bar`): the most probable action whose probability reaches its
  threshold, else ``none`` (`model_eval.decide`). It is *uncertain* when the probability
  that decided (the acting one, or for ``none`` the most probable action) lies within
  ``uncertainty_margin`` of its threshold: worth a human label.
- **Orders** (`orders_for`): one position per EA (magic and symbol), of up to the model's
  ``max_tickets`` orders on one side (1 unless its bot was seen holding more: a pyramid). An
  entry while flat opens; an entry against the position closes it and opens the other way;
  an entry with the position opens one more order while fewer than ``max_tickets`` are open,
  else does nothing; ``close`` closes every order held.
- **Lots** (`lots_for`): from ``min_lots`` at the threshold to ``max_lots`` at probability 1,
  times the symbol's risk-parity weight relative to an equal split, rounded down to
  ``lot_step`` and kept within [min_lots, max_lots].
- **Stops** (`stop_distances`): the model's SL/TP regressors on the scaled features when it
  has them, else ``stop_loss_pips`` / ``take_profit_pips`` (0: none).
- **Management** (`managed_stop`): break-even moves the stop to the open price once the
  position is ``break_even_pips`` in profit; trailing keeps it ``trailing_pips`` behind the
  price once it is that far in profit. A stop only ever moves towards profit.
  ``break_even_pips`` and ``trailing_pips`` are the EA's inputs; left at 0, the model's own
  (learned from its bot's stop moves, `trainers.stop_management`) apply (`managed_inputs`).

Examples
--------
>>> inputs = StrategyInputs(min_lots=0.01, max_lots=0.11, lot_step=0.01)
>>> lots_for(0.8, 0.6, inputs)
0.06
>>> orders_for("buy", -1), orders_for("buy", 1), orders_for("close", 0)
(['close', 'open_buy'], [], [])
>>> orders_for("buy", 1, tickets=1, max_tickets=2), orders_for("buy", 1, 2, max_tickets=2)
(['open_buy'], [])
>>> managed_stop(1, 1.1000, 0.0, bid=1.1022, ask=1.1023,
...              inputs=StrategyInputs(break_even_pips=20, trailing_pips=25))
1.1
>>> managed_stop(1, 1.1000, 1.1, bid=1.1040, ask=1.1041,
...              inputs=StrategyInputs(break_even_pips=20, trailing_pips=25))
1.1015
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from botcopier.trainers.model_eval import predict_proba, scale
from botcopier.trainers.stop_targets import predict_stop

ACTIONS = ("buy", "sell", "close")
_PRICE_DIGITS = 8  # stop levels are compared after rounding, as MT4 normalises prices


@dataclass(frozen=True)
class StrategyInputs:
    """The EA's trading inputs (MQL4 ``input`` variables of the same meaning)."""

    min_lots: float = 0.01
    max_lots: float = 0.10
    lot_step: float = 0.01
    stop_loss_pips: float = 0.0
    take_profit_pips: float = 0.0
    break_even_pips: float = 0.0
    trailing_pips: float = 0.0
    uncertainty_margin: float = 0.05
    pip_size: float = 0.0001


@dataclass(frozen=True)
class BarDecision:
    action: str  # none, buy, sell or close
    probability: float  # of the action; for none, of the most probable action
    threshold: float
    uncertain: bool


def check_ensemble(models: Sequence[Mapping[str, Any]]) -> list[str]:
    """The classes every model of an ensemble shares; a mismatch is refused."""
    if not models:
        raise ValueError("an ensemble needs at least one model")
    classes = list(models[0]["classes"])
    for model in models[1:]:
        if list(model["classes"]) != classes:
            raise ValueError(
                f"{model['name']} has classes {model['classes']}, {models[0]['name']} {classes}: "
                "an ensemble averages probabilities of the same classes"
            )
    return classes


def ensemble_thresholds(models: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    classes = check_ensemble(models)
    return {
        c: float(np.mean([m["thresholds"].get(c, 0.5) for m in models]))
        for c in classes
        if c != "none"
    }


def ensemble_proba(models: Sequence[Mapping[str, Any]], rows: Sequence[np.ndarray]) -> np.ndarray:
    """Mean class probabilities; ``rows[i]`` holds model i's features (its own order)."""
    check_ensemble(models)
    return np.mean([predict_proba(m, r) for m, r in zip(models, rows, strict=True)], axis=0)


def decide_bar(
    proba: np.ndarray, classes: Sequence[str], thresholds: Mapping[str, float], margin: float
) -> BarDecision:
    """The decision of one bar from its (ensemble) probabilities."""
    best, best_p = "none", -1.0
    top, top_p = "none", -1.0
    for label, p in zip(classes, proba, strict=True):
        if label == "none":
            continue
        if p > top_p:
            top, top_p = label, float(p)
        if p >= thresholds.get(label, 0.5) and p > best_p:
            best, best_p = label, float(p)
    decided, p = (best, best_p) if best != "none" else (top, top_p)
    if decided == "none":  # a model with no action classes
        return BarDecision("none", 0.0, 1.0, False)
    limit = float(thresholds.get(decided, 0.5))
    return BarDecision(best, p, limit, abs(p - limit) <= margin)


def managed_inputs(model: Mapping[str, Any], inputs: StrategyInputs) -> StrategyInputs:
    """``inputs`` with the model's learned break-even and trailing distances (its
    ``management`` section, in price units) where the trader left the input at 0."""
    learned = model.get("management") or {}
    pips = {
        field: learned[key] / inputs.pip_size
        for field, key in (
            ("break_even_pips", "break_even_distance"),
            ("trailing_pips", "trailing_distance"),
        )  # fmt: skip
        if getattr(inputs, field) <= 0 and learned.get(key)
    }
    return replace(inputs, **pips)


def orders_for(action: str, position: int, tickets: int = 1, max_tickets: int = 1) -> list[str]:
    """What the EA sends for ``action`` when it holds ``position`` (1 long, -1 short, 0) in
    ``tickets`` orders and may hold up to ``max_tickets`` on one side."""
    if action == "close":
        return ["close"] if position else []
    if action not in ("buy", "sell"):
        return []
    side = 1 if action == "buy" else -1
    if position == side:
        return [f"open_{action}"] if tickets < max_tickets else []
    return (["close"] if position else []) + [f"open_{action}"]


def max_tickets(model: Mapping[str, Any]) -> int:
    """The most orders the model's EA holds on one side (the document's ``max_tickets``)."""
    return int(model.get("max_tickets", 1))


def lots_for(
    probability: float, threshold: float, inputs: StrategyInputs, risk_weight: float = 1.0
) -> float:
    """Lots for an entry decided with ``probability`` at ``threshold``."""
    strength = 1.0 if threshold >= 1.0 else (probability - threshold) / (1.0 - threshold)
    strength = min(max(strength, 0.0), 1.0)
    raw = (inputs.min_lots + (inputs.max_lots - inputs.min_lots) * strength) * risk_weight
    # Down to the lot step (a hair of tolerance: 0.06 / 0.01 is 5.999... in doubles).
    stepped = math.floor(raw / inputs.lot_step + 1e-9) * inputs.lot_step
    return round(min(max(stepped, inputs.min_lots), inputs.max_lots), 8)


def risk_weight(model: Mapping[str, Any], symbol: str) -> float:
    """The symbol's risk-parity weight over an equal split (1.0 without risk parity)."""
    parity = model.get("risk_parity")
    if not parity or symbol not in parity["symbols"]:
        return 1.0
    return float(parity["weights"][parity["symbols"].index(symbol)] * len(parity["symbols"]))


def stop_distances(
    model: Mapping[str, Any], features: np.ndarray, inputs: StrategyInputs
) -> tuple[float, float]:
    """Stop-loss and take-profit distances (price units, 0: none) for an entry now."""
    stops = model.get("stops") or {}
    z = scale(model, np.asarray(features, dtype=float)[None, :])
    out = []
    for key, pips in (
        ("sl_distance", inputs.stop_loss_pips),
        ("tp_distance", inputs.take_profit_pips),
    ):
        regressor = stops.get(key)
        out.append(float(predict_stop(regressor, z)[0]) if regressor else pips * inputs.pip_size)
    return out[0], out[1]  # fmt: skip


def stop_prices(side: int, entry: float, sl_distance: float, tp_distance: float):
    """Stop-loss and take-profit price levels of a new position (0: none)."""
    sl = round(entry - side * sl_distance, _PRICE_DIGITS) if sl_distance > 0 else 0.0
    tp = round(entry + side * tp_distance, _PRICE_DIGITS) if tp_distance > 0 else 0.0
    return sl, tp


def managed_stop(
    side: int, open_price: float, stop: float, *, bid: float, ask: float, inputs: StrategyInputs
) -> float | None:
    """The position's new stop after break-even and trailing, or None to leave it."""
    price = bid if side > 0 else ask  # what closing would get
    profit_pips = side * (price - open_price) / inputs.pip_size
    candidate = None
    if inputs.break_even_pips > 0 and profit_pips >= inputs.break_even_pips:
        candidate = open_price
    if inputs.trailing_pips > 0 and profit_pips >= inputs.trailing_pips:
        trail = price - side * inputs.trailing_pips * inputs.pip_size
        candidate = trail if candidate is None else (max if side > 0 else min)(candidate, trail)
    if candidate is None:
        return None
    candidate = round(candidate, _PRICE_DIGITS)
    better = stop == 0.0 or (candidate > stop if side > 0 else candidate < stop)
    return candidate if better else None
