"""Which bars a clone trains on, tunes on and is scored on: by share, or by date.

``--validation``/``--test`` are shares of the usable bars (after the features' warm-up), so
"train until 2017-11-09, score the rest" would need a computed fraction. ``--train-until
T`` and ``--test-from T`` say it by bar time instead (MT4 ``2017.11.09 00:00``, ISO
``2017-11-09`` or epoch ms, read as the bars' own times):

- the training bars open before ``--train-until`` (default: ``--test-from``), the last
  ``--validation`` share of them tuning the thresholds;
- the test bars open at or after ``--test-from`` (default: ``--train-until``); the bars
  between the two, when both are given, are neither trained nor scored.

Either way the history's last bar is never used: a bot decides at a bar's close, so its
decision on the last bar comes after the history ends, and its ``none`` label is unknown,
not "did nothing". `windowed` returns the rows and the shares that make
`time_split` cut exactly there, so every trainer that splits by share (feature selection,
`train_clone`, the search) cuts at the dates; `describe_windows` prints the windows used.

Examples
--------
>>> hour = 3_600_000
>>> data = Dataset(pd.DataFrame({"x": range(10)}), pd.Series(["none"] * 10),
...                pd.Series([h * hour for h in range(10)]))
>>> cut = windowed(data, last_bar_ms=9 * hour, validation=0.25, test_from_ms=6 * hour)
>>> len(cut.data), time_split(len(cut.data), cut.validation, cut.test)
(9, Split(train=range(0, 4), validation=range(4, 6), test=range(6, 9)))
>>> cut.unscored_ms == 9 * hour
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from botcopier.trainers.dataset import Dataset, NotEnoughDataError, time_split
from botcopier.trainers.seed_csv import event_time_ms


@dataclass(frozen=True)
class Windows:
    data: Dataset  # the rows trained, tuned and scored on, in time order
    validation: float  # shares of ``data`` for `time_split`
    test: float
    unscored_ms: int | None  # the history's last bar, left out, when it was a usable row


def bar_time_ms(option: str, text: str) -> int:
    """``text`` of the command-line ``option`` as epoch ms; an unreadable one is refused."""
    try:
        return event_time_ms(text, server_utc_offset_ms=0)
    except ValueError as exc:
        raise NotEnoughDataError(f"{option} {text!r}: {exc}") from None


def windowed(
    data: Dataset,
    *,
    last_bar_ms: int,
    validation: float = 0.15,
    test: float = 0.3,
    train_until_ms: int | None = None,
    test_from_ms: int | None = None,
) -> Windows:
    """The rows and shares for ``data``: by date when a date is given, else the shares."""
    known = data.time_ms < last_bar_ms
    unscored = None if bool(known.all()) else last_bar_ms
    data = _rows(data, known)
    if train_until_ms is None and test_from_ms is None:
        return Windows(data, validation, test, unscored)
    until = test_from_ms if train_until_ms is None else train_until_ms
    start = train_until_ms if test_from_ms is None else test_from_ms
    if until > start:
        raise NotEnoughDataError(
            f"--train-until {_when(until)} is after --test-from {_when(start)}: the windows "
            "would overlap"
        )
    training = data.time_ms < until
    testing = data.time_ms >= start
    trained, scored = int(training.sum()), int(testing.sum())
    if not trained or not scored:
        first, last = _when(int(data.time_ms.iloc[0])), _when(int(data.time_ms.iloc[-1]))
        raise NotEnoughDataError(
            f"no {'training' if not trained else 'test'} bars: the usable bars run from {first} "
            f"to {last} (before it, the features warm up; the last bar is never scored)"
        )
    rows = trained + scored
    tuned = round(trained * validation)
    windows = Windows(_rows(data, training | testing), tuned / rows, scored / rows, unscored)
    split = time_split(rows, validation=windows.validation, test=windows.test)
    # The shares are exact fractions of whole rows; the check keeps them honest.
    if (split.validation.start, split.test.start) != (trained - tuned, trained):
        raise AssertionError(f"shares {windows} do not cut at row {trained}")
    return windows


def describe_windows(windows: Windows) -> list[str]:
    """The exact windows `time_split` cuts ``windows.data`` into, one line each."""
    data = windows.data
    split = time_split(len(data), validation=windows.validation, test=windows.test)
    lines = []
    for name, rows in (("train", split.train), ("validation", split.validation),
                       ("test", split.test)):  # fmt: skip
        if len(rows):
            first, last = data.time_ms.iloc[rows.start], data.time_ms.iloc[rows.stop - 1]
            lines.append(f"{name:10} {_when(first)} .. {_when(last)} ({len(rows)} bars)")
        else:
            lines.append(f"{name:10} none")
    if windows.unscored_ms is not None:
        lines.append(
            f"{'not used':10} {_when(windows.unscored_ms)}, the last bar: the bot decides at its "
            "close, after the history ends"
        )
    return lines


def _rows(data: Dataset, keep: pd.Series) -> Dataset:
    return Dataset(
        data.features[keep].reset_index(drop=True),
        data.labels[keep].reset_index(drop=True),
        data.time_ms[keep].reset_index(drop=True),
    )


def _when(ms: int) -> str:
    return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%d %H:%M")
