"""Every feature's MQL4 text, evaluated as MT4 would, equals its Python computation."""

from __future__ import annotations

import numpy as np
import pytest

from botcopier.codegen.chart_mirror import ChartMirror
from botcopier.codegen.expression import ExpressionError, evaluate, parse
from botcopier.trainers.features import FEATURES
from botcopier.trainers.labels import STATE_COLUMNS, position_state
from tests.clone_data import simulated_bots


@pytest.fixture(scope="module")
def chart():
    bars, events = simulated_bots(700)
    bars = bars.reset_index(drop=True)
    # The state of a bot that really traded these bars (its orders' times and prices).
    state = position_state(bars, max(events.values(), key=len))
    bars = bars.assign(**{column: state[column] for column in STATE_COLUMNS})
    bars["position"] = np.resize([0.0, 1.0, 0.0, -1.0], len(bars))
    return bars, ChartMirror(bars)


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_the_mql4_expression_computes_what_the_trainer_computed(chart, name):
    bars, mirror = chart
    feature = FEATURES[name]
    expected = feature.compute(bars)
    tree = parse(feature.mql4)
    rows = range(max(feature.warmup, 60), len(bars), 7)
    got = [
        evaluate(
            tree,
            mirror.environment(
                row,
                position=bars["position"].iloc[row],
                state={column: bars[column].iloc[row] for column in STATE_COLUMNS},
            ),
        )
        for row in rows
    ]
    np.testing.assert_allclose(got, expected[list(rows)], rtol=1e-9, atol=1e-12)


def test_a_wrong_period_or_shift_in_the_mql4_text_is_caught(chart):
    bars, mirror = chart
    expected = FEATURES["sma_gap_10"].compute(bars)[100]
    for typo in ("Close[1]/iMA(NULL,0,11,0,MODE_SMA,PRICE_CLOSE,1)-1.0",
                 "Close[1]/iMA(NULL,0,10,0,MODE_SMA,PRICE_CLOSE,0)-1.0",
                 "Close[0]/iMA(NULL,0,10,0,MODE_SMA,PRICE_CLOSE,1)-1.0"):  # fmt: skip
        try:
            value = evaluate(parse(typo), mirror.environment(100))
        except ExpressionError:
            continue  # shift 0 of Close is the forming bar: not known when the EA decides
        assert value != pytest.approx(expected, rel=1e-12)


def test_unknown_built_ins_and_syntax_outside_the_subset_are_refused(chart):
    _bars, mirror = chart
    with pytest.raises(ExpressionError, match="no mirror of the MQL4 function 'iSAR'"):
        evaluate(parse("iSAR(NULL,0,0.02,0.2,1)"), mirror.environment(100))
    with pytest.raises(ExpressionError, match="unexpected"):
        parse("Close[1] = 2")
