"""How early or late a clone enters compared with its bot: the timing error, in bars.

Bar-by-bar scores count an entry one bar late as a miss *and* a false alarm, although a
trade a bar late is nearly the same trade. This measure looks at each of the bot's entries
(a ``buy`` or ``sell`` label) and finds the clone's nearest entry of the same side within
``window_bars`` bars either way:

- ``matched_share``: share of the bot's entries with such a clone entry (``unmatched`` the
  rest, counted apart rather than given a made-up distance);
- ``mean_bars`` / ``median_bars``: the absolute distance of the matched ones;
- ``mean_lag_bars``: the signed distance, positive when the clone enters after the bot.

When a clone entry lies as far before as after, the earlier one is taken. A clone entry may
be the nearest for two bot entries: this measures timing, not one-to-one agreement (the
macro-F1 already does that).

Examples
--------
>>> truth = ["buy", "none", "none", "none", "sell", "none", "none", "buy", "none"]
>>> said  = ["none", "buy", "none", "none", "sell", "none", "none", "none", "none"]
>>> t = entry_timing(truth, said, window_bars=2)
>>> t["bot_entries"], t["matched"], t["unmatched"], t["matched_share"]
(3, 2, 1, 0.6666666666666666)
>>> t["mean_bars"], t["median_bars"], t["mean_lag_bars"]
(0.5, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ENTRIES = ("buy", "sell")


def entry_timing(truth: Sequence[str], said: Sequence[str], window_bars: int = 5) -> dict[str, Any]:
    """Timing of the clone's entries (``said``) against the bot's (``truth``), bar by bar."""
    if len(truth) != len(said):
        raise ValueError(f"{len(truth)} true labels but {len(said)} predictions")
    if window_bars < 0:
        raise ValueError(f"window_bars must be >= 0, not {window_bars}")
    clone = {side: np.flatnonzero(np.asarray(said, dtype=object) == side) for side in ENTRIES}
    lags: list[int] = []
    entries = 0
    for i, label in enumerate(truth):
        if label not in ENTRIES:
            continue
        entries += 1
        mine = clone[label]
        near = mine[np.abs(mine - i) <= window_bars] - i
        if len(near):
            # argmin takes the first of equals: near is ascending, so the earlier entry.
            lags.append(int(near[np.argmin(np.abs(near))]))
    distances = np.abs(lags)
    return {
        "window_bars": window_bars,
        "bot_entries": entries,
        "matched": len(lags),
        "unmatched": entries - len(lags),
        "matched_share": len(lags) / entries if entries else None,
        "mean_bars": float(distances.mean()) if lags else None,
        "median_bars": float(np.median(distances)) if lags else None,
        "mean_lag_bars": float(np.mean(lags)) if lags else None,
    }


def _figure(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def describe_timing(timing: dict[str, Any]) -> list[str]:
    """Readable lines for `botcopier evaluate`."""
    return [
        f"entry timing       {timing['matched']}/{timing['bot_entries']} of the bot's entries "
        f"matched within ±{timing['window_bars']} bars (share "
        f"{_figure(timing['matched_share'])}), {timing['unmatched']} unmatched",
        f"                   distance mean {_figure(timing['mean_bars'], 2)}, median "
        f"{_figure(timing['median_bars'], 2)} bars; clone late by "
        f"{_figure(timing['mean_lag_bars'], 2)} bars on average",
    ]


def result_fields(timing: dict[str, Any]) -> dict[str, str]:
    """``RESULT`` line keys of the timing measure."""
    return {
        "timing_matched_share": _figure(timing["matched_share"]),
        "timing_unmatched": str(timing["unmatched"]),
        "timing_mean_bars": _figure(timing["mean_bars"]),
        "timing_median_bars": _figure(timing["median_bars"]),
    }
