"""Per-row sample weights (and human labels) from the strategy EAs' review files.

A training row is one decision of the bot, identified by its ``decision_time_ms``: when the
EA decided on a bar, which is when the next bar opened (MQL4's ``Time[0]``, in ms UTC). Two
files, written by the strategy EA tooling, point at such decisions:

- the **uncertain file** lists decisions the clone was unsure about and a human labelled.
  Columns (at least): ``decision_time_ms`` and ``label``, the decision the human says the
  bot made there: one of ``none``, ``buy``, ``sell``, ``close`` (as
  ``botcopier.trainers.labels.LABELS``; case does not matter). Its rows get
  ``uncertain_weight`` and their label is overridden by the human's.
- the **replay file** lists decisions whose replay diverged from what the bot did.
  Columns (at least): ``decision_time_ms``. Its rows get ``replay_weight``.

Both are text files with a header line; fields separated by commas, semicolons or tabs
(whichever the header uses: MT4's ``FileWrite`` writes the handle's delimiter); column names
match case-insensitively; other columns are ignored; blank lines are skipped; a UTF-8 byte
order mark is allowed. Line numbers count the header as line 1.

Every data line ends up in exactly one place: ``matched`` (it named at least one training
row), ``unmatched`` (``file:line``, a well-formed line that named no training row: reported,
never silently dropped) or ``problems`` (``file:line: reason``: an unreadable time or an
unknown label). A missing required column is an error, not a problem. Weights multiply: a
row in both files gets both weights; a row named twice in one file is weighted once.

Examples
--------
>>> import numpy as np, pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "uncertain.csv").write_text(
...     "decision_time_ms,label\\n3600000,buy\\n7200000,close\\n99,sell\\n")
>>> result = sample_weights(np.array([0, 3_600_000, 7_200_000]),
...                         uncertain_file=folder / "uncertain.csv", uncertain_weight=3.0)
>>> result.weights.tolist(), result.label_overrides, result.matched
([1.0, 3.0, 3.0], {1: 'buy', 2: 'close'}, 2)
>>> [u.rsplit("/", 1)[-1] for u in result.unmatched]
['uncertain.csv:4']
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from botcopier.trainers.labels import LABELS

TIME_COLUMN = "decision_time_ms"
LABEL_COLUMN = "label"
_DELIMITERS = (",", ";", "\t")
_SUMMARY_EXAMPLES = 10

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class WeightResult:
    weights: np.ndarray  # one per training row, > 0 (1.0 where no file named the row)
    label_overrides: dict[int, str]  # training row -> the human's label
    matched: int  # data lines that named at least one training row
    unmatched: list[str]  # "file:line" of well-formed lines that named none
    problems: list[str]  # "file:line: reason" of lines that could not be read

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts (and the first few unmatched lines and problems) for model.json.

        Examples
        --------
        >>> sample_weights(np.array([1, 2])).summary()["weighted_rows"]
        0
        """
        return {
            "matched": self.matched,
            "unmatched": len(self.unmatched),
            "problems": len(self.problems),
            "weighted_rows": int(np.count_nonzero(self.weights != 1.0)),
            "label_overrides": len(self.label_overrides),
            "unmatched_examples": self.unmatched[:_SUMMARY_EXAMPLES],
            "problem_examples": self.problems[:_SUMMARY_EXAMPLES],
        }


def sample_weights(
    decision_time_ms: np.ndarray,
    *,
    uncertain_file: PathLike | None = None,
    uncertain_weight: float = 1.0,
    replay_file: PathLike | None = None,
    replay_weight: float = 1.0,
) -> WeightResult:
    """Weights of the training rows decided at ``decision_time_ms``, from the review files.

    Parameters
    ----------
    decision_time_ms
        One decision time per training row (ms UTC, integers), in the rows' order.
    uncertain_file, uncertain_weight
        The humans' labels (format in the module docstring) and the factor their rows get.
    replay_file, replay_weight
        The diverged replays and the factor their rows get.

    Raises
    ------
    ValueError
        A weight that is not a finite positive number, times that are not whole numbers,
        or a file without a header or without a required column (named).
    """
    times = _times(decision_time_ms)
    rows_at: dict[int, list[int]] = {}
    for row, t in enumerate(times.tolist()):
        rows_at.setdefault(t, []).append(row)
    weights = np.ones(len(times), dtype=float)
    overrides: dict[int, str] = {}
    matched, unmatched, problems = 0, [], []

    if uncertain_file is not None:
        factor = _positive("uncertain_weight", uncertain_weight)
        weighted: set[int] = set()
        labelled_at: dict[int, tuple[str, str]] = {}  # row -> (label, where)
        for where, fields in _lines(uncertain_file, (TIME_COLUMN, LABEL_COLUMN)):
            t = _parse_time(fields[TIME_COLUMN])
            label = fields[LABEL_COLUMN].strip().lower()
            if t is None:
                problems.append(f"{where}: {TIME_COLUMN} {fields[TIME_COLUMN]!r} is not a time")
                continue
            if label not in LABELS:
                problems.append(
                    f"{where}: unknown label {fields[LABEL_COLUMN]!r} (one of {', '.join(LABELS)})"
                )
                continue
            rows = rows_at.get(t)
            if not rows:
                unmatched.append(where)
                continue
            matched += 1
            for row in rows:
                if row not in weighted:
                    weights[row] *= factor
                    weighted.add(row)
                earlier = labelled_at.get(row)
                if earlier and earlier[0] != label:
                    problems.append(
                        f"{where}: relabels decision {t} as {label!r} ({earlier[1]} said "
                        f"{earlier[0]!r}); the later label is used"
                    )
                labelled_at[row] = (label, where)
                overrides[row] = label

    if replay_file is not None:
        factor = _positive("replay_weight", replay_weight)
        weighted = set()
        for where, fields in _lines(replay_file, (TIME_COLUMN,)):
            t = _parse_time(fields[TIME_COLUMN])
            if t is None:
                problems.append(f"{where}: {TIME_COLUMN} {fields[TIME_COLUMN]!r} is not a time")
                continue
            rows = rows_at.get(t)
            if not rows:
                unmatched.append(where)
                continue
            matched += 1
            for row in rows:
                if row not in weighted:
                    weights[row] *= factor
                    weighted.add(row)

    return WeightResult(weights, overrides, matched, unmatched, problems)


def _times(decision_time_ms: np.ndarray) -> np.ndarray:
    times = np.asarray(decision_time_ms)
    if times.ndim != 1:
        raise ValueError(f"decision_time_ms must be one-dimensional, not of shape {times.shape}")
    if times.size and not np.issubdtype(times.dtype, np.integer):
        as_float = times.astype(float)
        if not (np.isfinite(as_float).all() and (as_float == np.round(as_float)).all()):
            raise ValueError("decision_time_ms must be whole milliseconds")
    return times.astype(np.int64)


def _positive(name: str, weight: float) -> float:
    value = float(weight)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number above 0, not {weight!r}")
    return value


def _parse_time(text: str) -> int | None:
    """Whole milliseconds from ``text`` ("1704067200000", also "1.7040672e12"), else None."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value.is_integer() else None


def _lines(path: PathLike, required: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """``("file:line", {column: value})`` of every non-blank data line of ``path``."""
    name = os.fspath(path)
    header: list[str] | None = None
    positions: dict[str, int] = {}
    delimiter = ","
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if header is None:
                delimiter = max(_DELIMITERS, key=line.count)
                header = [c.strip().lower() for c in _cells(line, delimiter)]
                missing = [column for column in required if column not in header]
                if missing:
                    raise ValueError(
                        f"{name}:{number}: header lacks column {', '.join(missing)} "
                        f"(it has {', '.join(header)})"
                    )
                positions = {column: header.index(column) for column in required}
                continue
            cells = _cells(line, delimiter)
            yield (
                f"{name}:{number}",
                {c: cells[i] if i < len(cells) else "" for c, i in positions.items()},
            )
    if header is None:
        raise ValueError(f"{name}: empty file, expected a header with {', '.join(required)}")


def _cells(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])
