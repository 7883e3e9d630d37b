"""One bot's training table: features and labels per bar, and time-ordered splits.

`build_dataset` joins the bars of the bot's symbol and timeframe with what the bot did on
each (`label_bars`), computes the declared features, and drops the rows before the
features' warm-up. `time_split` cuts it by time into train, validation and test: every
training bar precedes every validation bar, which precede every test bar, so nothing is
learned from the future it is scored on.

Examples
--------
>>> split = time_split(10, validation=0.2, test=0.2)
>>> list(split.train), list(split.validation), list(split.test)
([0, 1, 2, 3, 4, 5], [6, 7], [8, 9])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from botcopier.exceptions import BotCopierError
from botcopier.trainers.features import DEFAULT_FEATURES, Feature, feature_matrix, warmup
from botcopier.trainers.labels import STATE_COLUMNS, most_open_tickets, position_state


class NotEnoughDataError(BotCopierError):
    """Too few bars or decisions to train or score honestly."""


@dataclass(frozen=True)
class Dataset:
    features: pd.DataFrame  # one column per feature
    labels: pd.Series  # values of botcopier.trainers.labels.LABELS
    time_ms: pd.Series  # each bar's open time
    max_tickets: int = 1  # the most orders the bot held at once over its whole history

    def __len__(self) -> int:
        return len(self.labels)

    def rows(self, positions: range) -> Dataset:
        return replace(
            self,
            features=self.features.iloc[positions],
            labels=self.labels.iloc[positions],
            time_ms=self.time_ms.iloc[positions],
        )


@dataclass(frozen=True)
class Split:
    train: range
    validation: range
    test: range


def build_dataset(
    bars: pd.DataFrame,
    events: Iterable[Mapping[str, Any]],
    features: tuple[Feature, ...] = DEFAULT_FEATURES,
    min_rows: int = 200,
) -> Dataset:
    """Features and labels of every bar past the warm-up, in time order."""
    bars = bars.sort_values("time_ms", kind="stable").reset_index(drop=True)
    events = list(events)
    labelled = position_state(bars, events)
    # What the bot held when it decided: the position features read these columns.
    frame = bars.assign(**{c: labelled[c] for c in ("position", *STATE_COLUMNS)})
    matrix = feature_matrix(frame, features).iloc[warmup(features) :]
    usable = matrix.notna().all(axis=1)
    matrix = matrix[usable]
    rows = len(matrix)
    if rows < min_rows:
        raise NotEnoughDataError(
            f"{rows} usable bars after a warm-up of {warmup(features)} (of {len(bars)} bars); "
            f"at least {min_rows} are needed"
        )
    return Dataset(
        matrix.reset_index(drop=True),
        labelled["label"].loc[matrix.index].reset_index(drop=True),
        frame["time_ms"].loc[matrix.index].reset_index(drop=True),
        most_open_tickets(events),
    )


def time_split(rows: int, validation: float = 0.15, test: float = 0.3) -> Split:
    """Consecutive train / validation / test ranges of ``rows`` time-ordered rows."""
    if not (0 <= validation < 1 and 0 < test < 1 and validation + test < 1):
        raise ValueError("need 0 <= validation, 0 < test and validation + test < 1")
    test_start = rows - round(rows * test)
    validation_start = test_start - round(rows * validation)
    empty_validation = validation > 0 and validation_start == test_start
    if validation_start < 1 or test_start == rows or empty_validation:
        raise NotEnoughDataError(f"{rows} rows cannot be split into train, validation and test")
    return Split(
        range(0, validation_start), range(validation_start, test_start), range(test_start, rows)
    )
