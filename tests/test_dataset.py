"""Training tables from bars and trade events, and splits that never train on the future."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from botcopier.bridge.simulator import MovingAverageCrossBot, random_walk_bars
from botcopier.trainers.dataset import NotEnoughDataError, build_dataset, time_split
from botcopier.trainers.features import warmup


def simulated(count: int, seed: int = 2):
    bars = list(random_walk_bars("EURUSD", start_ms=1_704_067_200_000, count=count, seed=seed))
    bot, events = MovingAverageCrossBot("EURUSD"), []
    for bar in bars:
        events += [
            {**a, "event_time_ms": a["close_time_ms"] or bar.end_ms} for a in bot.on_bar(bar)
        ]
    return pd.DataFrame([dataclasses.asdict(b) for b in bars]), events


def test_dataset_rows_follow_the_bars_after_the_warmup():
    bars, events = simulated(1_500)
    data = build_dataset(bars.sample(frac=1.0, random_state=1), events)  # any input order
    assert len(data) == 1_500 - warmup()
    assert data.time_ms.is_monotonic_increasing
    assert data.time_ms.iloc[0] == bars["time_ms"].iloc[warmup()]
    assert set(data.labels) == {"none", "buy", "sell"}  # the MA cross reverses: no bare close
    assert data.features.notna().all().all()


def test_splits_are_consecutive_in_time_and_cover_every_row():
    bars, events = simulated(1_500)
    data = build_dataset(bars, events)
    split = time_split(len(data), validation=0.15, test=0.3)
    parts = [data.rows(r) for r in (split.train, split.validation, split.test)]
    assert sum(len(p) for p in parts) == len(data)
    assert parts[0].time_ms.max() < parts[1].time_ms.min()
    assert parts[1].time_ms.max() < parts[2].time_ms.min()
    assert len(parts[2]) == round(len(data) * 0.3)


def test_too_little_data_is_refused_with_the_numbers():
    bars, events = simulated(400)
    with pytest.raises(NotEnoughDataError, match=r"\d+ usable bars after a warm-up of \d+"):
        build_dataset(bars, events)
    with pytest.raises(NotEnoughDataError, match="cannot be split"):
        time_split(2)
    with pytest.raises(ValueError, match="validation"):
        time_split(100, validation=0.5, test=0.6)
