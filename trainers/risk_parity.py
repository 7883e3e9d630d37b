"""Risk-parity weights across symbols: each symbol contributes the same share of the risk.

Given aligned periodic returns (one column per symbol), the weights ``w`` (all positive,
summing to 1) are the ones for which every symbol's risk contribution
``w_i * (Σ w)_i`` is the same, where ``Σ`` is the sample covariance of the returns: a
volatile or strongly co-moving symbol gets less weight, a calm or diversifying one more.
For uncorrelated symbols that is ``w_i ∝ 1 / σ_i``.

There is no closed form beyond that case, so the weights are solved iteratively: with
``Σ = D C D`` (``D`` the standard deviations, ``C`` the correlations), ``y`` solving
``y_i (C y)_i = 1 / n`` for all ``i`` is found by cyclical coordinate descent (each
coordinate's equation is a quadratic with one positive root, so every iterate stays
positive), and ``w = (y / σ) / Σ (y / σ)``. Working on correlations keeps the iteration
independent of the returns' scale. ``iterations`` counts full sweeps over the symbols.

``risk_contributions`` are shares of the portfolio variance ``w' Σ w`` (they sum to 1 and
are all ``1 / n`` at the solution, to the tolerance).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> returns = pd.DataFrame({"EURUSD": rng.normal(0, 0.01, 500),
...                         "GBPUSD": rng.normal(0, 0.02, 500)})
>>> parity = risk_parity(returns)
>>> parity["symbols"], [round(w, 2) for w in parity["weights"]]
(['EURUSD', 'GBPUSD'], [0.65, 0.35])
>>> [round(c, 6) for c in parity["risk_contributions"]]
[0.5, 0.5]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from botcopier.trainers.dataset import NotEnoughDataError


def risk_parity(
    returns: pd.DataFrame,
    *,
    min_rows: int = 30,
    tolerance: float = 1e-12,
    max_iterations: int = 10_000,
) -> dict[str, Any]:
    """Equal-risk-contribution weights of the symbols in ``returns``' columns.

    Parameters
    ----------
    returns
        One column per symbol, one row per period; rows with a missing value in any column
        are left out.
    min_rows
        Fewest complete rows to estimate the covariance from.
    tolerance
        Largest accepted ``|n · y_i (C y)_i - 1|`` over the symbols (relative error of each
        risk contribution).
    max_iterations
        Most sweeps of coordinate descent before giving up.

    Returns
    -------
    dict
        ``symbols``, ``weights``, ``covariance`` (sample covariance, rows and columns in
        ``symbols`` order), ``risk_contributions`` (shares of the variance) and
        ``iterations``: plain Python numbers, ready for model.json.

    Raises
    ------
    NotEnoughDataError
        No symbols, a column without any value or with no variance, fewer than
        ``min_rows`` complete rows, or a covariance with no risk-parity solution (a
        combination of the symbols with zero variance).

    Examples
    --------
    >>> import pandas as pd
    >>> risk_parity(pd.DataFrame({"XAUUSD": [0.01, -0.02, 0.015, 0.0]}), min_rows=4)["weights"]
    [1.0]
    """
    symbols = [str(column) for column in returns.columns]
    if not symbols:
        raise NotEnoughDataError("no symbols to weight: the returns frame has no columns")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"symbols appear more than once: {symbols}")
    values = returns.to_numpy(dtype=float)
    for i, symbol in enumerate(symbols):
        if not np.isfinite(values[:, i]).any():
            raise NotEnoughDataError(f"symbol {symbol} has no returns (every value is missing)")
    complete = values[np.isfinite(values).all(axis=1)]
    if len(complete) < min_rows:
        raise NotEnoughDataError(
            f"{len(complete)} periods have returns for every symbol ({', '.join(symbols)}); "
            f"at least {min_rows} are needed"
        )
    covariance = np.atleast_2d(np.cov(complete, rowvar=False))
    sigma = np.sqrt(np.diag(covariance))
    for symbol, s in zip(symbols, sigma, strict=True):
        if not s > 0:
            raise NotEnoughDataError(
                f"symbol {symbol} has constant returns over the {len(complete)} complete "
                "periods: its risk is zero and cannot be balanced"
            )
    correlation = covariance / np.outer(sigma, sigma)
    y, iterations = _equal_risk(correlation, tolerance, max_iterations, symbols)
    raw = y / sigma
    weights = raw / raw.sum()
    marginal = covariance @ weights
    contributions = weights * marginal / float(weights @ marginal)
    return {
        "symbols": symbols,
        "weights": [float(w) for w in weights],
        "covariance": [[float(c) for c in row] for row in covariance],
        "risk_contributions": [float(c) for c in contributions],
        "iterations": iterations,
    }


def _equal_risk(
    correlation: np.ndarray, tolerance: float, max_iterations: int, symbols: list[str]
) -> tuple[np.ndarray, int]:
    """Positive ``y`` with ``y_i (C y)_i = 1/n`` for all ``i`` (unit diagonal ``C``)."""
    n = len(correlation)
    budget = 1.0 / n
    total = float(correlation.sum())
    # Exact when all correlations are equal; any positive start converges.
    y = np.full(n, 1.0 / np.sqrt(total) if total > 0 else np.sqrt(budget))
    for sweep in range(max_iterations + 1):
        error = np.abs(n * y * (correlation @ y) - 1.0).max()
        if error <= tolerance:
            return y, sweep
        if sweep == max_iterations:
            break
        for i in range(n):
            # y_i^2 + c y_i - budget = 0 with c the rest of row i: its positive root.
            c = float(correlation[i] @ y - y[i])
            y[i] = (-c + np.sqrt(c * c + 4.0 * budget)) / 2.0
        if not np.isfinite(y).all() or y.max() > 1e150:
            break  # diverging: a zero-variance direction with all-positive weights
    raise NotEnoughDataError(
        f"no risk-parity weights for {', '.join(symbols)} after {max_iterations} sweeps "
        f"(largest contribution error {error:.3g}): some combination of these symbols has "
        "(almost) no variance, so their risks cannot be balanced"
    )
