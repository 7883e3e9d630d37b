"""Where the bot puts its stop loss and take profit: distances at entry, and ridge regressors.

`entry_stops` reads one bot's trade events: for each market order it opened itself (an OPEN
of a BUY or SELL without ``parent_ticket``: not the remainder of a partial close, not a
filled pending order's own type) the distances, in price units, from the open price to the
levels it set: ``sl_distance = |open_price - sl|``, ``tp_distance = |tp - open_price|``;
NaN where it opened without that level (0 in MT4). Bots on ECN brokers cannot send levels
with the order and set them with an OrderModify right after: ``modify_within_ms`` lets such
a MODIFY of the same ticket supply a level the OPEN lacked.

`stops_per_row` places the entries on training rows by decision time, and
`fit_stop_regressors` fits one ridge regression per distance on the main model's
standardised features ``z = (x - mean) / scale``, so the strategy EA computes ``z`` once for
both the decision and its stops. A distance the bot set fewer than ``min_rows`` times gets
``None``: the EA then uses no level of that kind rather than a made-up one. `predict_stop`
evaluates a regressor and never returns a negative distance.

Examples
--------
>>> events = [
...     {"event_time_ms": 3_600_000, "action": "OPEN", "order_type": "BUY", "ticket": 7,
...      "open_price": 1.10250, "sl": 1.09650, "tp": 0.0, "parent_ticket": None},
...     {"event_time_ms": 7_200_000, "action": "CLOSE", "order_type": "BUY", "ticket": 7,
...      "open_price": 1.10250, "sl": 1.09650, "tp": 0.0, "parent_ticket": None},
... ]
>>> entry_stops(events).round(6).to_dict("records")
[{'event_time_ms': 3600000, 'ticket': 7, 'sl_distance': 0.006, 'tp_distance': nan}]
>>> regressor = {"intercept": 0.006, "coefficients": [0.002, 0.0]}
>>> predict_stop(regressor, np.array([[1.0, 5.0], [-4.0, 0.0]])).round(6).tolist()
[0.008, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

TARGETS = ("sl_distance", "tp_distance")
_MARKET = ("BUY", "SELL")
_LEVELS = {"sl_distance": "sl", "tp_distance": "tp"}
_COLUMNS = ["event_time_ms", "ticket", *TARGETS]


def entry_stops(
    events: Iterable[Mapping[str, Any]], *, modify_within_ms: int | None = None
) -> pd.DataFrame:
    """Stop-loss and take-profit distances of each market order the bot opened, in time order.

    Parameters
    ----------
    events
        One bot's TradeEvent dicts (``event_time_ms``, ``action``, ``order_type``,
        ``ticket``, ``open_price``, ``sl``, ``tp``, ``parent_ticket``), in any order.
    modify_within_ms
        When set, the first MODIFY of the same ticket at most this many ms after the OPEN
        supplies a level the OPEN was sent without.

    Returns
    -------
    pandas.DataFrame
        ``event_time_ms``, ``ticket``, ``sl_distance``, ``tp_distance``: one row per entry.
    """
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1]["event_time_ms"], pair[0]))
    timeline = [event for _, event in ordered]
    entries: list[dict[str, Any]] = []
    pending: dict[int, dict[str, Any]] = {}  # ticket -> entry still missing a level
    for event in timeline:
        action = event.get("action")
        if action == "OPEN" and event.get("order_type") in _MARKET:
            if event.get("parent_ticket"):
                continue  # the remainder of a partial close, not a new entry
            entry = {
                "event_time_ms": int(event["event_time_ms"]),
                "ticket": int(event["ticket"]),
                "open_price": float(event.get("open_price") or 0.0),
            }
            for target, level in _LEVELS.items():
                entry[target] = _distance(entry["open_price"], event.get(level))
            entries.append(entry)
            if modify_within_ms is not None and any(math.isnan(entry[t]) for t in TARGETS):
                pending[entry["ticket"]] = entry
        elif action == "MODIFY" and event.get("ticket") in pending:
            entry = pending.pop(event["ticket"])
            if event["event_time_ms"] - entry["event_time_ms"] > modify_within_ms:
                continue
            for target, level in _LEVELS.items():
                if math.isnan(entry[target]):
                    entry[target] = _distance(entry["open_price"], event.get(level))
    frame = pd.DataFrame(entries, columns=[*_COLUMNS, "open_price"])[_COLUMNS]
    return frame.astype(
        {"event_time_ms": "int64", "ticket": "int64", **dict.fromkeys(TARGETS, float)}
    )


def _distance(open_price: float, level: Any) -> float:
    level = float(level or 0.0)
    if level <= 0 or open_price <= 0:
        return math.nan
    return abs(open_price - level)


def stops_per_row(
    entries: pd.DataFrame,
    decision_time_ms: np.ndarray,
    *,
    max_delay_ms: int | None = None,
) -> pd.DataFrame:
    """``sl_distance`` and ``tp_distance`` of the entry made at each training row's decision.

    An entry at ``t`` belongs to the row with the latest decision time at or before ``t``
    (as `botcopier.trainers.labels` places events), and only if it came at most
    ``max_delay_ms`` after it (when given: pass the bar length, so an entry on a bar missing
    from the table is not put on an earlier row). Of several entries on one row the last
    counts, as the label does. Rows without an entry are NaN.

    Examples
    --------
    >>> entries = pd.DataFrame({"event_time_ms": [60_000, 125_000], "ticket": [1, 2],
    ...                         "sl_distance": [0.002, 0.003], "tp_distance": [None, 0.01]})
    >>> stops_per_row(entries, np.array([0, 60_000, 120_000])).to_dict("list")
    {'sl_distance': [nan, 0.002, 0.003], 'tp_distance': [nan, nan, 0.01]}
    """
    decisions = np.asarray(decision_time_ms, dtype=np.int64)
    if len(decisions) > 1 and (np.diff(decisions) <= 0).any():
        raise ValueError("decision times must be strictly increasing")
    if not len(decisions):
        return pd.DataFrame(columns=list(TARGETS), dtype=float)
    entries = entries.sort_values("event_time_ms", kind="stable").reset_index(drop=True)
    times = entries["event_time_ms"].to_numpy(dtype=np.int64)
    rows = np.searchsorted(decisions, times, side="right") - 1
    keep = rows >= 0
    if max_delay_ms is not None:
        keep &= times - decisions[np.maximum(rows, 0)] <= max_delay_ms
    placed = entries.loc[keep, list(TARGETS)].astype(float).assign(row=rows[keep])
    # The last entry on a row is its final decision.
    placed = placed.drop_duplicates("row", keep="last").set_index("row")
    return placed.reindex(range(len(decisions)))[list(TARGETS)].rename_axis(None)


def fit_stop_regressors(
    features: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    mean: np.ndarray,
    scale: np.ndarray,
    min_rows: int = 20,
    alpha: float = 1.0,
) -> dict[str, dict[str, Any] | None]:
    """Ridge regressions of each stop distance on the standardised features.

    Parameters
    ----------
    features
        Training rows, columns in the main model's feature order.
    targets
        Same rows (by position), columns ``sl_distance`` and ``tp_distance`` (NaN where no
        entry or no level; a missing column counts as all NaN): `stops_per_row`'s output.
    mean, scale
        The main model's scaler, one value per feature column.
    min_rows
        Fewest known values of a distance to fit it; below, its regressor is None.
    alpha
        Ridge L2 strength (scikit-learn's, on the sum of squared errors).

    Returns
    -------
    dict
        Per target, None or ``{"intercept", "coefficients", "rmse", "rows"}``; ``rmse`` is
        over the training rows, of the clipped predictions, in price units.
    """
    x = features.to_numpy(dtype=float)
    mean = np.asarray(mean, dtype=float).reshape(-1)
    scale = np.asarray(scale, dtype=float).reshape(-1)
    if mean.shape != (x.shape[1],) or scale.shape != (x.shape[1],):
        raise ValueError(
            f"mean and scale need one value per feature ({x.shape[1]}), "
            f"got {mean.size} and {scale.size}"
        )
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError("scale must be finite and above 0 for every feature")
    if len(targets) != len(features):
        raise ValueError(f"{len(targets)} target rows for {len(features)} feature rows")
    z = (x - mean) / scale
    usable = np.isfinite(z).all(axis=1)
    result: dict[str, dict[str, Any] | None] = {}
    for target in TARGETS:
        if target in targets:
            y = targets[target].to_numpy(dtype=float)
        else:
            y = np.full(len(features), np.nan)
        if (y[np.isfinite(y)] < 0).any():
            raise ValueError(f"{target} has negative distances")
        known = usable & np.isfinite(y)
        count = int(known.sum())
        if count < min_rows:
            result[target] = None
            continue
        model = Ridge(alpha=alpha).fit(z[known], y[known])
        regressor = {
            "intercept": float(model.intercept_),
            "coefficients": [float(c) for c in model.coef_],
        }
        error = predict_stop(regressor, z[known]) - y[known]
        result[target] = {
            **regressor,
            "rmse": float(np.sqrt(np.mean(error**2))),
            "rows": count,
        }
    return result


def predict_stop(regressor: Mapping[str, Any], z: np.ndarray) -> np.ndarray:
    """Distances for standardised rows ``z`` (shape (rows, features), or one row), ≥ 0."""
    z = np.atleast_2d(np.asarray(z, dtype=float))
    coefficients = np.asarray(regressor["coefficients"], dtype=float)
    if z.shape[1] != coefficients.size:
        raise ValueError(f"z has {z.shape[1]} features, the regressor {coefficients.size}")
    return np.maximum(float(regressor["intercept"]) + z @ coefficients, 0.0)
