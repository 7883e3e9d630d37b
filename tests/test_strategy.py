"""The EA's trading rules in Python (codegen/strategy.py): the reference the EA is pinned to."""

from __future__ import annotations

import numpy as np
import pytest

from botcopier.codegen.strategy import (
    StrategyInputs,
    decide_bar,
    ensemble_proba,
    ensemble_thresholds,
    lots_for,
    managed_stop,
    max_tickets,
    orders_for,
    risk_weight,
    stop_distances,
    stop_prices,
)
from botcopier.trainers.model_eval import decide


def _linear(name: str, coefficients, thresholds, classes=("none", "buy", "sell")) -> dict:
    return {
        "name": name,
        "classes": list(classes),
        "scaler": {"mean": [0.0, 0.0], "scale": [1.0, 2.0]},
        "estimator": {"family": "linear", "coefficients": coefficients,
                      "intercepts": [0.0] * len(classes)},
        "thresholds": thresholds,
    }  # fmt: skip


def test_a_bars_decision_is_the_reference_evaluators_and_flags_near_threshold_ones():
    rng = np.random.default_rng(0)
    classes = ["none", "buy", "sell", "close"]
    thresholds = {"buy": 0.4, "sell": 0.5, "close": 0.3}
    proba = rng.dirichlet([2, 1, 1, 1], size=2_000)
    expected = decide({"classes": classes, "thresholds": thresholds}, proba)
    decisions = [decide_bar(p, classes, thresholds, 0.05) for p in proba]
    assert [d.action for d in decisions] == expected
    for p, d in zip(proba, decisions, strict=True):
        assert d.uncertain == (abs(d.probability - d.threshold) <= 0.05)
        if d.action != "none":
            assert d.probability == p[classes.index(d.action)] >= d.threshold
        else:
            assert (
                d.probability == max(p[1:])
                and d.probability < thresholds[classes[1 + p[1:].argmax()]]
            )


def test_an_ensemble_averages_probabilities_and_thresholds_and_refuses_other_classes():
    a = _linear("a", [[0, 0], [1, 0], [-1, 0]], {"buy": 0.5, "sell": 0.5})
    b = _linear("b", [[0, 0], [0, 1], [0, -1]], {"buy": 0.7, "sell": 0.3})
    rows = np.array([[1.0, -2.0], [0.0, 3.0]])
    from botcopier.trainers.model_eval import predict_proba

    mean = (predict_proba(a, rows) + predict_proba(b, rows)) / 2
    assert np.allclose(ensemble_proba([a, b], [rows, rows]), mean)
    assert ensemble_thresholds([a, b]) == {"buy": 0.6, "sell": 0.4}
    other = _linear("c", [[0, 0], [1, 0]], {"buy": 0.5}, classes=("none", "buy"))
    with pytest.raises(ValueError, match="same classes"):
        ensemble_proba([a, other], [rows, rows])


@pytest.mark.parametrize(
    ("action", "position", "orders"),
    [("buy", 0, ["open_buy"]), ("sell", 0, ["open_sell"]), ("buy", 1, []), ("sell", -1, []),
     ("buy", -1, ["close", "open_buy"]), ("sell", 1, ["close", "open_sell"]),
     ("close", 1, ["close"]), ("close", -1, ["close"]), ("close", 0, []), ("none", 1, [])],
)  # fmt: skip
def test_one_position_per_ea_entries_reverse_and_close_only_what_is_held(action, position, orders):
    assert orders_for(action, position) == orders


@pytest.mark.parametrize(
    ("action", "position", "tickets", "orders"),
    [("buy", 1, 1, ["open_buy"]), ("buy", 1, 2, ["open_buy"]), ("buy", 1, 3, []),
     ("sell", -1, 2, ["open_sell"]), ("sell", 1, 2, ["close", "open_sell"]),
     ("close", 1, 3, ["close"]), ("buy", 0, 0, ["open_buy"])],
)  # fmt: skip
def test_a_pyramid_adds_orders_on_its_side_up_to_max_tickets(action, position, tickets, orders):
    assert orders_for(action, position, tickets, max_tickets=3) == orders


def test_max_tickets_is_the_documents_or_one():
    assert max_tickets({"max_tickets": 2}) == 2
    assert max_tickets({}) == 1


def test_lots_scale_with_probability_and_risk_weight_within_limits_on_the_step():
    inputs = StrategyInputs(min_lots=0.1, max_lots=1.0, lot_step=0.1)
    assert lots_for(0.5, 0.5, inputs) == 0.1
    assert lots_for(1.0, 0.5, inputs) == 1.0
    assert lots_for(0.75, 0.5, inputs) == 0.5  # 0.55 rounded down to the step
    assert lots_for(0.75, 0.5, inputs, risk_weight=0.5) == 0.2  # 0.275 -> 0.2
    assert lots_for(1.0, 0.5, inputs, risk_weight=3.0) == 1.0
    assert lots_for(0.2, 0.5, inputs) == 0.1
    model = {"risk_parity": {"symbols": ["EURUSD", "GBPUSD"], "weights": [0.6, 0.4]}}
    assert risk_weight(model, "GBPUSD") == pytest.approx(0.8)
    assert risk_weight(model, "USDJPY") == 1.0 and risk_weight({}, "EURUSD") == 1.0


def test_stops_come_from_the_regressors_else_the_inputs():
    model = _linear("a", [[0, 0], [1, 0], [-1, 0]], {"buy": 0.5})
    inputs = StrategyInputs(stop_loss_pips=30, take_profit_pips=0, pip_size=0.0001)
    assert stop_distances(model, np.array([1.0, 1.0]), inputs) == (pytest.approx(0.003), 0.0)
    model["stops"] = {"sl_distance": {"intercept": 0.002, "coefficients": [0.001, 0.002]},
                      "tp_distance": None}  # fmt: skip
    # z = (1, 0.5): 0.002 + 0.001 + 0.001
    assert stop_distances(model, np.array([1.0, 1.0]), inputs)[0] == pytest.approx(0.004)
    assert stop_prices(1, 1.1, 0.004, 0.0) == (1.096, 0.0)
    assert stop_prices(-1, 1.1, 0.004, 0.002) == (1.104, 1.098)


def test_break_even_and_trailing_only_ever_move_the_stop_towards_profit():
    inputs = StrategyInputs(break_even_pips=10, trailing_pips=20, pip_size=0.0001)
    assert managed_stop(1, 1.1, 0.0, bid=1.1005, ask=1.1006, inputs=inputs) is None
    assert managed_stop(1, 1.1, 0.0, bid=1.1012, ask=1.1013, inputs=inputs) == 1.1
    assert managed_stop(1, 1.1, 1.1, bid=1.1012, ask=1.1013, inputs=inputs) is None
    assert managed_stop(1, 1.1, 1.1, bid=1.1030, ask=1.1031, inputs=inputs) == 1.101
    assert managed_stop(1, 1.1, 1.101, bid=1.1025, ask=1.1026, inputs=inputs) is None
    assert managed_stop(-1, 1.1, 0.0, bid=1.0969, ask=1.0970, inputs=inputs) == 1.099
    assert managed_stop(-1, 1.1, 1.099, bid=1.0979, ask=1.0980, inputs=inputs) is None
