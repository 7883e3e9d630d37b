"""The strategy EA's decision log: what it decided on each bar, and with which inputs.

A generated strategy EA writes one line per decision to a CSV file in ``MQL4/Files``;
``botcopier label`` reads it to have a human (or a rule) label the uncertain decisions.

Format
------
A header line, then one line per decision. Fields are separated by commas, semicolons or
tabs (whichever the header uses: MT4's ``FileWrite`` writes the handle's delimiter). The
first seven columns are fixed, by name and in this order (names match case-insensitively):

=================  ==========================================================================
``time``           the bar the EA decided on: ``Time[0]`` when it decided (the open of the
                   bar now forming), as milliseconds since the epoch, UTC (digits, e.g.
                   ``1704067200000``: ``BcServerToUtcMs(Time[0])`` of ``Clock.mqh``), or as
                   MT4 server time ``yyyy.mm.dd hh:mi`` (``TimeToString(Time[0])``; ``:ss``
                   allowed), made UTC with ``--server-utc-offset``. This is the
                   ``decision_time_ms`` of the training row the decision is about.
``symbol``         e.g. ``EURUSD``
``model_version``  the version of the model.json that decided
``action``         ``none``, ``buy``, ``sell`` or ``close`` (the Decision schema's ``NONE``,
                   ``OPEN_BUY``, ``OPEN_SELL``, ``CLOSE`` are accepted too)
``probability``    the model's probability of that action, a number
``threshold``      the threshold it was compared with, a number
``uncertain``      ``1`` or ``0`` (``true``/``false``): within the EA's uncertainty margin
=================  ==========================================================================

Every further column is one feature, named as in model.json (e.g. ``rsi_14``, ``position``),
with the value the model saw (a number, ``.`` as decimal point). Blank lines are skipped; a
UTF-8 byte order mark is allowed; line numbers count the header as line 1.

A line that cannot be read (too few fields, a bad time, action, number or flag) is reported
as ``file:line: reason`` in ``problems``, never dropped silently. A header that differs from
the fixed columns is an error.

Examples
--------
>>> import pathlib, tempfile
>>> log = pathlib.Path(tempfile.mkdtemp()) / "decisions.csv"
>>> _ = log.write_text(
...     "time;symbol;model_version;action;probability;threshold;uncertain;rsi_14;position\\n"
...     "2024.01.02 10:00;EURUSD;v1;buy;0.52;0.5;1;28.5;0\\n"
...     "1704193200000;EURUSD;v1;NONE;0.1;0.5;0;55;0\\n"
...     "2024.01.02 12:00;EURUSD;v1;buy;high;0.5;1;25;0\\n")
>>> result = read_decision_log(log, server_utc_offset_hours=2)
>>> result.features, len(result.decisions), result.decisions[0].time_ms
(['rsi_14', 'position'], 2, 1704182400000)
>>> result.decisions[0].features, result.decisions[1].action, result.decisions[1].uncertain
({'rsi_14': 28.5, 'position': 0.0}, 'none', False)
>>> [p.rsplit("/", 1)[-1] for p in result.problems]
["decisions.csv:4: probability 'high' is not a number"]
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from botcopier.exceptions import BotCopierError

COLUMNS = ("time", "symbol", "model_version", "action", "probability", "threshold", "uncertain")
ACTIONS = {
    "none": "none",
    "buy": "buy",
    "sell": "sell",
    "close": "close",
    "open_buy": "buy",
    "open_sell": "sell",
}
_FLAGS = {"1": True, "0": False, "true": True, "false": False}
_MT4_TIME_LAYOUTS = ("%Y.%m.%d %H:%M", "%Y.%m.%d %H:%M:%S")
_DELIMITERS = (",", ";", "\t")
# Below this, digits are seconds (2001 in seconds is 1e9), not milliseconds (1973).
_MIN_TIME_MS = 100_000_000_000

PathLike = str | os.PathLike[str]


class LabelError(BotCopierError):
    """A decision log, label file or rule that cannot be used at all."""


@dataclass(frozen=True)
class Decision:
    where: str  # "file:line"
    time_ms: int
    symbol: str
    model_version: str
    action: str  # none, buy, sell, close
    probability: float
    threshold: float
    uncertain: bool
    features: dict[str, float]


@dataclass(frozen=True)
class DecisionLog:
    features: list[str]  # the feature columns, in the file's order
    decisions: list[Decision]  # every readable line, uncertain or not
    problems: list[str]  # "file:line: reason" of lines that could not be read


def parse_time_ms(text: str, server_utc_offset_hours: float = 0.0) -> int:
    """Milliseconds UTC from digits (already ms UTC) or MT4 server time; `ValueError` if not.

    Examples
    --------
    >>> parse_time_ms("1704067200000"), parse_time_ms("2024.01.01 02:00", 2)
    (1704067200000, 1704067200000)
    """
    text = text.strip()
    if text.isdigit():
        value = int(text)
        if value < _MIN_TIME_MS:
            raise ValueError(f"time {text!r} looks like seconds; write milliseconds")
        return value
    for layout in _MT4_TIME_LAYOUTS:
        try:
            moment = datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        return round((moment.timestamp() - server_utc_offset_hours * 3600) * 1000)
    raise ValueError(f"time {text!r} is neither ms since the epoch nor yyyy.mm.dd hh:mi")


def read_decision_log(path: PathLike, server_utc_offset_hours: float = 0.0) -> DecisionLog:
    """Every decision of the log at ``path`` (format in the module docstring)."""
    rows = csv_rows(path)
    header_where, header = next(rows, (None, None))
    if header is None:
        raise LabelError(f"{os.fspath(path)}: empty file, expected a header {','.join(COLUMNS)}")
    names = [cell.strip().lower() for cell in header]
    if tuple(names[: len(COLUMNS)]) != COLUMNS:
        raise LabelError(
            f"{header_where}: the header must start with {','.join(COLUMNS)} "
            f"(it has {','.join(names[: len(COLUMNS)])})"
        )
    features = [cell.strip() for cell in header[len(COLUMNS) :]]
    clashes = sorted({f for f in features if f.lower() in COLUMNS or features.count(f) > 1})
    if clashes or not all(features):
        raise LabelError(f"{header_where}: feature columns empty or named twice: {clashes}")
    decisions, problems = [], []
    for where, cells in rows:
        try:
            decisions.append(_decision(where, cells, features, server_utc_offset_hours))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return DecisionLog(features, decisions, problems)


def csv_rows(path: PathLike) -> Iterator[tuple[str, list[str]]]:
    """``("file:line", cells)`` of every non-blank line, the delimiter taken from the first."""
    name = os.fspath(path)
    delimiter = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if delimiter is None:
                    delimiter = max(_DELIMITERS, key=line.count)
                yield f"{name}:{number}", next(csv.reader([line], delimiter=delimiter), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"cannot read {name}: {exc}") from exc


def _decision(where: str, cells: list[str], features: list[str], offset_hours: float) -> Decision:
    expected = len(COLUMNS) + len(features)
    if len(cells) != expected:
        raise ValueError(f"{len(cells)} fields, the header has {expected}")
    fixed = dict(zip(COLUMNS, (cell.strip() for cell in cells), strict=False))
    action = ACTIONS.get(fixed["action"].lower())
    if action is None:
        raise ValueError(f"action {fixed['action']!r} is not one of none, buy, sell, close")
    flag = _FLAGS.get(fixed["uncertain"].lower())
    if flag is None:
        raise ValueError(f"uncertain {fixed['uncertain']!r} is not 1, 0, true or false")
    values = {
        name: _number(name, cell)
        for name, cell in zip(features, cells[len(COLUMNS) :], strict=True)
    }
    return Decision(
        where=where,
        time_ms=parse_time_ms(fixed["time"], offset_hours),
        symbol=fixed["symbol"],
        model_version=fixed["model_version"],
        action=action,
        probability=_number("probability", fixed["probability"]),
        threshold=_number("threshold", fixed["threshold"]),
        uncertain=flag,
        features=values,
    )


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} {text.strip()!r} is not a finite number")
    return value
