"""Multinomial logistic regression on standardised features, as a model.json estimator.

`fit_linear` fits scikit-learn's ``LogisticRegression`` (lbfgs, softmax over the classes);
`continue_linear` is the incremental step: a few epochs of mini-batch gradient descent on
the softmax loss over new rows, starting from the stored weights (scikit-learn's SGD would
fit one-vs-rest, a different model from the softmax the EA evaluates).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(size=(400, 2))
>>> y = (z[:, 0] > 0).astype(int)
>>> est = fit_linear(z, y, 2, np.ones(400))
>>> est["family"], len(est["coefficients"]), len(est["coefficients"][0])
('linear', 2, 2)
>>> est["coefficients"][1][0] > 1.0
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from botcopier.trainers.model_eval import softmax


def fit_linear(
    z: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray,
    *,
    c: float = 1.0,
    max_iter: int = 2_000,
) -> dict[str, Any]:
    """Estimator section from standardised rows ``z`` and class indices ``y`` (0..n-1)."""
    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit(z, y, sample_weight=sample_weight)
    coefficients = np.zeros((n_classes, z.shape[1]))
    intercepts = np.zeros(n_classes)
    if len(model.classes_) == 2:
        # scikit-learn keeps one row for two classes: the same softmax with class 0 at zero.
        coefficients[model.classes_[1]] = model.coef_[0]
        intercepts[model.classes_[1]] = model.intercept_[0]
    else:
        coefficients[model.classes_] = model.coef_
        intercepts[model.classes_] = model.intercept_
    return {
        "family": "linear",
        "coefficients": coefficients.tolist(),
        "intercepts": intercepts.tolist(),
        "learner": f"sklearn LogisticRegression(C={c})",
    }


def continue_linear(
    estimator: dict[str, Any],
    z: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray,
    *,
    epochs: int = 5,
    learning_rate: float = 0.05,
    l2: float = 1e-4,
    batch_rows: int = 256,
    seed: int = 0,
) -> dict[str, Any]:
    """The stored softmax, moved by mini-batch gradient steps over new rows (partial fit)."""
    weights = np.asarray(estimator["coefficients"], dtype=float).copy()
    bias = np.asarray(estimator["intercepts"], dtype=float).copy()
    targets = np.eye(len(bias))[y]
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(z))
        for start in range(0, len(z), batch_rows):
            rows = order[start : start + batch_rows]
            w = sample_weight[rows][:, None]
            error = (softmax(z[rows] @ weights.T + bias) - targets[rows]) * w
            scale = learning_rate / max(float(w.sum()), 1e-12)
            weights -= scale * (error.T @ z[rows]) + learning_rate * l2 * weights
            bias -= scale * error.sum(axis=0)
    return {
        **estimator,
        "coefficients": weights.tolist(),
        "intercepts": bias.tolist(),
        "learner": f"{estimator.get('learner', 'linear')} + softmax SGD",
    }


def linear_importance(estimator: dict[str, Any], z: np.ndarray) -> np.ndarray:
    """Mean |contribution| of each feature to the raw scores, summed over classes."""
    weights = np.asarray(estimator["coefficients"], dtype=float)
    return np.abs(z[:, None, :] * weights[None, :, :]).mean(axis=0).sum(axis=0)
