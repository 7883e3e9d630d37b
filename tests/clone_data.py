"""Bars and trade events of the simulator's rule-based bots, for training tests."""

from __future__ import annotations

import dataclasses
from functools import cache

import pandas as pd

from botcopier.bridge.simulator import default_bots, random_walk_bars

START_MS = 1_704_067_200_000


@cache
def simulated_bots(count: int = 6_000, seed: int = 9) -> tuple[pd.DataFrame, dict[str, list]]:
    """One random walk of ``count`` H1 bars and each default bot's events over it."""
    bars = list(random_walk_bars("EURUSD", start_ms=START_MS, count=count, seed=seed))
    events: dict[str, list] = {}
    for bot in default_bots("EURUSD", seed=seed):
        mine = events.setdefault(bot.name, [])
        for bar in bars:
            for action in bot.on_bar(bar):
                mine.append({**action, "event_time_ms": action["close_time_ms"] or bar.end_ms})
    return pd.DataFrame([dataclasses.asdict(b) for b in bars]), events
