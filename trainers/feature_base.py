"""What every feature is made of: the `Feature` record and the array helpers features share.

A feature states its Python computation over a bar frame (oldest first, row ``i`` known when
bar ``i`` closes) and the MQL4 expression the generated EA evaluates when the next bar opens
(shift 1 is the bar just closed, as row ``i`` is here). `shifted` gives the value one bar
earlier (MQL4's shift 2) from the shift-1 array.

Examples
--------
>>> import numpy as np
>>> shifted(np.array([1.0, 2.0, 3.0])).tolist()
[nan, 1.0, 2.0]
>>> safe_div(np.array([1.0, 1.0]), np.array([2.0, 0.0]), 0.5).tolist()
[0.5, 0.5]
>>> crossing(np.array([-1.0, 1.0, 2.0, -0.5])).tolist()
[nan, 1.0, 0.0, -1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Feature:
    name: str
    compute: Callable[[pd.DataFrame], np.ndarray]
    mql4: str
    warmup: int
    doc: str
    # The round levels EAs compare this value with (RSI 30/70, CCI +-100...): tree families
    # split only there, so "RSI above 80" is learned as 80, not as the nearest value seen.
    levels: tuple[float, ...] = ()


def safe_div(numerator: np.ndarray, denominator: np.ndarray, fallback: float) -> np.ndarray:
    """``numerator / denominator``, ``fallback`` where the denominator is 0 (as BcSafeDiv)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.full(numerator.shape, fallback, dtype=float)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def shifted(values: np.ndarray, bars: int = 1) -> np.ndarray:
    """``values`` as they were ``bars`` bars earlier (NaN before the first)."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    if bars < len(values):
        out[bars:] = values[: len(values) - bars]
    return out


def crossing(now: np.ndarray) -> np.ndarray:
    """1 where a spread turned above 0 on this row, -1 below, else 0 (as BcCross); NaN where
    this row or the one before is unknown."""
    before = shifted(now)
    out = np.where((before <= 0) & (now > 0), 1.0, 0.0)
    out = np.where((before >= 0) & (now < 0), -1.0, out)
    out[np.isnan(now) | np.isnan(before)] = np.nan
    return out


def column(bars: pd.DataFrame, name: str) -> np.ndarray:
    return bars[name].to_numpy(dtype=float)


def decision_ms(bars: pd.DataFrame) -> np.ndarray:
    """When the EA decides on a bar: when the next one opens (MQL4's ``Time[0]``)."""
    opens = bars["time_ms"].to_numpy(dtype=np.int64)
    return opens + bars["timeframe_minutes"].to_numpy(dtype=np.int64) * MINUTE_MS
