"""Risk-parity weights: equal risk contributions, 1/σ for uncorrelated symbols, clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from botcopier.trainers.dataset import NotEnoughDataError
from botcopier.trainers.risk_parity import risk_parity


def test_uncorrelated_symbols_are_weighted_by_inverse_volatility():
    rng = np.random.default_rng(7)
    raw = rng.normal(size=(400, 2))
    # Exactly uncorrelated in the sample: orthogonalise the centred columns.
    raw -= raw.mean(axis=0)
    raw[:, 1] -= raw[:, 0] * (raw[:, 0] @ raw[:, 1]) / (raw[:, 0] @ raw[:, 0])
    returns = pd.DataFrame({"EURUSD": 0.004 * raw[:, 0], "USDJPY": 0.012 * raw[:, 1]})
    parity = risk_parity(returns)
    sigma = returns.std().to_numpy()
    expected = (1 / sigma) / (1 / sigma).sum()
    assert parity["symbols"] == ["EURUSD", "USDJPY"]
    assert parity["weights"] == pytest.approx(list(expected), abs=1e-12)
    assert parity["risk_contributions"] == pytest.approx([0.5, 0.5], abs=1e-10)


def test_random_four_symbol_covariance_gets_equal_risk_contributions():
    rng = np.random.default_rng(11)
    mixing = rng.normal(size=(4, 4)) * np.array([0.002, 0.01, 0.005, 0.03])
    returns = pd.DataFrame(rng.normal(size=(250, 4)) @ mixing, columns=["A", "B", "C", "D"])
    parity = risk_parity(returns)
    weights = np.array(parity["weights"])
    covariance = np.array(parity["covariance"])
    assert covariance == pytest.approx(returns.cov().to_numpy(), rel=1e-12)
    assert (weights > 0).all() and weights.sum() == pytest.approx(1.0, abs=1e-15)
    contributions = weights * (covariance @ weights)
    assert np.ptp(contributions / contributions.sum()) < 1e-8
    assert parity["risk_contributions"] == pytest.approx([0.25] * 4, abs=1e-8)
    assert 0 < parity["iterations"] < 1_000


def test_result_is_plain_json():
    rng = np.random.default_rng(3)
    parity = risk_parity(pd.DataFrame(rng.normal(size=(60, 3)), columns=["X", "Y", "Z"]))
    assert json.loads(json.dumps(parity)) == parity
    assert type(parity["iterations"]) is int
    assert all(type(w) is float for w in parity["weights"])


def test_a_single_symbol_gets_the_whole_weight():
    returns = pd.DataFrame({"XAUUSD": np.random.default_rng(5).normal(0, 0.01, 40)})
    parity = risk_parity(returns)
    assert parity["weights"] == [1.0]
    assert parity["risk_contributions"] == [1.0]
    assert parity["covariance"][0][0] == pytest.approx(returns["XAUUSD"].var())


def test_rows_missing_any_symbol_are_left_out():
    rng = np.random.default_rng(9)
    returns = pd.DataFrame(rng.normal(size=(50, 2)), columns=["A", "B"])
    returns.iloc[:10, 1] = np.nan
    parity = risk_parity(returns)
    assert np.array(parity["covariance"]) == pytest.approx(returns.iloc[10:].cov().to_numpy())
    with pytest.raises(NotEnoughDataError, match="40 periods .* at least 45"):
        risk_parity(returns, min_rows=45)


def test_too_few_rows_is_refused_with_the_numbers():
    returns = pd.DataFrame(np.random.default_rng(1).normal(size=(29, 2)), columns=["A", "B"])
    with pytest.raises(NotEnoughDataError, match="29 periods have returns for every symbol"):
        risk_parity(returns)


def test_a_constant_symbol_is_named():
    rng = np.random.default_rng(2)
    returns = pd.DataFrame({"EURUSD": rng.normal(size=40), "FLAT": np.zeros(40)})
    with pytest.raises(NotEnoughDataError, match="symbol FLAT has constant returns"):
        risk_parity(returns)


def test_a_symbol_without_returns_is_named():
    rng = np.random.default_rng(4)
    returns = pd.DataFrame({"EURUSD": rng.normal(size=40), "GHOST": np.full(40, np.nan)})
    with pytest.raises(NotEnoughDataError, match="symbol GHOST has no returns"):
        risk_parity(returns)


def test_no_symbols_and_a_perfect_hedge_are_refused():
    with pytest.raises(NotEnoughDataError, match="no columns"):
        risk_parity(pd.DataFrame(index=range(40)))
    x = np.random.default_rng(6).normal(size=40)
    with pytest.raises(NotEnoughDataError, match="cannot be balanced"):
        risk_parity(pd.DataFrame({"A": x, "B": -x}), max_iterations=200)
