"""Strategy.mqh's rules, from their MQL4 text, hold to codegen/strategy.py on a golden grid."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from botcopier.codegen import strategy, strategy_mirror
from botcopier.codegen.function_mirror import one_line_functions

STRATEGY_MQH = Path(__file__).resolve().parent.parent / "mql4/Include/BotCopier/Strategy.mqh"


@pytest.fixture(scope="module")
def mql4():
    return one_line_functions(STRATEGY_MQH.read_text())


def test_lots_from_the_mql4_text_equal_the_reference(mql4):
    grid = itertools.product(
        [0.3, 0.5, 0.55, 0.6123, 0.75, 0.9, 0.999, 1.0],  # probability
        [0.3, 0.5, 0.6, 0.95, 1.0],  # threshold
        [(0.01, 0.1, 0.01), (0.1, 1.0, 0.1), (0.02, 0.5, 0.01)],  # min, max, step
        [0.4, 1.0, 1.37],  # risk weight
    )
    for p, t, (low, high, step), weight in grid:
        inputs = strategy.StrategyInputs(min_lots=low, max_lots=high, lot_step=step)
        expected = strategy.lots_for(p, t, inputs, weight)
        assert mql4["BcLotsFor"](p, t, low, high, step, weight) == expected, (p, t, weight)


def test_break_even_and_trailing_from_the_mql4_text_equal_the_reference(mql4):
    rng = np.random.default_rng(4)
    for _ in range(3_000):
        side = int(rng.choice([1, -1]))
        open_price = round(1.1 + rng.normal(0, 0.01), 5)
        bid = round(open_price + rng.normal(0, 0.003), 5)
        ask = round(bid + 0.0001, 5)
        stop = float(rng.choice([0.0, round(open_price - side * 0.002, 5), open_price]))
        be, trail = float(rng.choice([0, 10, 20])), float(rng.choice([0, 15, 30]))
        inputs = strategy.StrategyInputs(break_even_pips=be, trailing_pips=trail)
        expected = strategy.managed_stop(side, open_price, stop, bid=bid, ask=ask, inputs=inputs)
        got = mql4["BcManagedStop"](side, open_price, stop, bid, ask, be, trail, inputs.pip_size)
        assert got == (0.0 if expected is None else expected), (side, open_price, stop, bid)


def test_stop_levels_from_the_mql4_text_equal_the_reference(mql4):
    for side, entry, sl, tp in itertools.product(
        [1, -1], [1.1, 0.98765], [0.0, 0.0031], [0.0, 0.005]
    ):
        expected = strategy.stop_prices(side, entry, sl, tp)
        got = (mql4["BcStopLevel"](side, entry, sl, 1), mql4["BcStopLevel"](side, entry, tp, 0))
        assert got == expected


def test_the_decision_and_the_orders_equal_the_reference():
    rng = np.random.default_rng(2)
    classes = ["none", "buy", "sell", "close"]
    limits = {"buy": 0.45, "sell": 0.5, "close": 0.35}
    for proba in rng.dirichlet([3, 1, 1, 1], size=3_000):
        ref = strategy.decide_bar(proba, classes, limits, 0.05)
        got = strategy_mirror.decide(list(proba), classes, [0.0, 0.45, 0.5, 0.35], 0.05)
        assert got == (ref.action, ref.probability, ref.threshold, ref.uncertain)
    for action, position in itertools.product(["none", "buy", "sell", "close"], [-1, 0, 1]):
        assert strategy_mirror.orders_for(action, position, 1, 1) == strategy.orders_for(
            action, position
        )
    for action, position, tickets, most in itertools.product(
        ["none", "buy", "sell", "close"], [-1, 0, 1], [0, 1, 2, 3], [1, 2, 3]
    ):
        tickets = tickets if position else 0
        assert strategy_mirror.orders_for(action, position, tickets, most) == strategy.orders_for(
            action, position, tickets, most
        )


def test_a_changed_rule_in_the_mql4_text_would_be_caught(mql4):
    """The comparison reads the MQL4 text: a wrong step rounding there shows up."""
    altered = STRATEGY_MQH.read_text().replace("lotStep + 1e-9", "lotStep + 0.5")
    wrong = one_line_functions(altered)["BcLotsFor"]
    inputs = strategy.StrategyInputs(min_lots=0.01, max_lots=0.1, lot_step=0.01)
    assert wrong(0.7, 0.5, 0.01, 0.1, 0.01, 1.0) != strategy.lots_for(0.7, 0.5, inputs)


def test_the_learned_break_even_and_trailing_from_the_mql4_text_equal_the_reference(mql4):
    """The EA's inputs win; left at 0, the model's learned distances apply, in pips."""
    management = {"break_even_distance": 0.0015, "trailing_distance": None}
    for be, trail in itertools.product([0.0, 12.0], [0.0, 30.0]):
        inputs = strategy.StrategyInputs(break_even_pips=be, trailing_pips=trail)
        used = strategy.managed_inputs({"management": management}, inputs)
        got = (mql4["BcManagedPips"](be, 0.0015, inputs.pip_size),
               mql4["BcManagedPips"](trail, 0.0, inputs.pip_size))  # fmt: skip
        assert got == pytest.approx((used.break_even_pips, used.trailing_pips), rel=1e-12)
        assert used.break_even_pips == pytest.approx(be or 15.0)
        assert used.trailing_pips == trail
    assert strategy.managed_inputs({}, strategy.StrategyInputs()) == strategy.StrategyInputs()
