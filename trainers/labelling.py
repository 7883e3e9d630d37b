"""Labels for the EA's uncertain decisions: by a human at the terminal, by rules, or from a CSV.

The labels file is the ``--uncertain-file`` of ``botcopier train``
(`botcopier.trainers.sample_weights`): a comma-separated file with the header
``decision_time_ms,label,symbol,model_action,model_probability``, one line per labelled
decision, oldest first. ``label`` is what the bot should have done there (``none``, ``buy``,
``sell``, ``close``); the last three columns say what the clone did, for the reader (training
ignores them).

An existing labels file is merged, not replaced: its labels stay unless this run labels the
same decision (same time and symbol) again, and the terminal session does not ask about
decisions it already labels, so a session ended with ``q`` continues where it stopped.

A label CSV (``--from-csv``) has a header with ``time`` (or ``decision_time_ms``) and
``label``, optionally ``symbol``; times as in the decision log. Each of its lines must name
an uncertain decision of the log; the others are reported with their line numbers.

Examples
--------
>>> from botcopier.trainers.decision_log import Decision
>>> decision = Decision("log.csv:2", 1704182400000, "EURUSD", "v1", "buy", 0.52, 0.5, True,
...                     {"rsi_14": 28.5})
>>> answers = iter(["x", "s"])
>>> labels, stopped = label_interactively([decision], lambda prompt: next(answers), print, 8)
[1/1] log.csv:2  2024-01-02 08:00 UTC  EURUSD  model v1
  the clone chose buy at p=0.520 (threshold 0.500)
  rsi_14=28.5
'x'? keys: b buy, s sell, c close, n none, k skip, q save and quit
>>> labels[0].label, stopped
('sell', False)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from botcopier.atomic_file import write_atomic
from botcopier.trainers.decision_log import (
    Decision,
    LabelError,
    csv_rows,
    parse_time_ms,
)
from botcopier.trainers.label_rules import Rule, first_label
from botcopier.trainers.labels import LABELS
from botcopier.trainers.sample_weights import LABEL_COLUMN, TIME_COLUMN

OUTPUT_COLUMNS = (TIME_COLUMN, LABEL_COLUMN, "symbol", "model_action", "model_probability")
KEYS = {"b": "buy", "s": "sell", "c": "close", "n": "none"}
_HELP = "keys: b buy, s sell, c close, n none, k skip, q save and quit"


@dataclass(frozen=True)
class Label:
    time_ms: int
    label: str
    symbol: str = ""
    model_action: str = ""
    model_probability: str = ""

    @property
    def key(self) -> tuple[int, str]:
        return self.time_ms, self.symbol

    @classmethod
    def of(cls, decision: Decision, label: str) -> Label:
        return cls(
            decision.time_ms,
            label,
            decision.symbol,
            decision.action,
            f"{decision.probability:.6g}",
        )


def decision_values(decision: Decision) -> dict[str, object]:
    """What a rule may read of a decision: its features and the clone's own outputs."""
    return {
        **decision.features,
        "probability": decision.probability,
        "threshold": decision.threshold,
        "action": decision.action,
        "symbol": decision.symbol,
    }


def label_by_rules(
    decisions: Iterable[Decision], rules: list[Rule]
) -> tuple[list[Label], list[str], list[str]]:
    """(labels, problems, ``file:line`` of decisions no rule matched)."""
    labels, problems, unmatched = [], [], []
    for decision in decisions:
        try:
            label = first_label(rules, decision_values(decision))
        except ValueError as exc:
            problems.append(f"{decision.where}: {exc}")
            continue
        if label is None:
            unmatched.append(decision.where)
        else:
            labels.append(Label.of(decision, label))
    return labels, problems, unmatched


def label_from_csv(
    decisions: Iterable[Decision], path: Path, server_utc_offset_hours: float = 0.0
) -> tuple[list[Label], list[str]]:
    """(labels, problems) from a CSV of times and labels (format in the module docstring)."""
    at_time: dict[int, list[Decision]] = {}
    for decision in decisions:
        at_time.setdefault(decision.time_ms, []).append(decision)
    rows = csv_rows(path)
    header_where, header = next(rows, (None, None))
    if header is None:
        raise LabelError(f"{path}: empty file, expected a header with time and label")
    names = [cell.strip().lower() for cell in header]
    time_column = next((c for c in ("time", TIME_COLUMN) if c in names), None)
    if time_column is None or LABEL_COLUMN not in names:
        raise LabelError(f"{header_where}: the header needs time and label (it has {names})")
    where_is = {
        name: names.index(name) for name in (time_column, LABEL_COLUMN, "symbol") if name in names
    }
    labels, problems = [], []
    for where, cells in rows:
        field = {name: cells[i].strip() if i < len(cells) else "" for name, i in where_is.items()}
        label = field[LABEL_COLUMN].lower()
        if label not in LABELS:
            problems.append(f"{where}: unknown label {field[LABEL_COLUMN]!r}")
            continue
        try:
            time_ms = parse_time_ms(field[time_column], server_utc_offset_hours)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        named = [
            decision
            for decision in at_time.get(time_ms, [])
            if field.get("symbol") in (None, "", decision.symbol)
        ]
        if not named:
            problems.append(f"{where}: names no uncertain decision of the log")
        labels.extend(Label.of(decision, label) for decision in named)
    return labels, problems


def label_interactively(
    decisions: list[Decision],
    ask: Callable[[str], str],
    say: Callable[[str], None],
    show_features: int | list[str],
) -> tuple[list[Label], bool]:
    """(labels given, whether the human quit early) after asking about each decision.

    ``ask`` prompts and returns the line typed (`EOFError` counts as ``q``); ``show_features``
    is how many features to show (in the log's order) or which ones.
    """
    labels: list[Label] = []
    for number, decision in enumerate(decisions, start=1):
        moment = datetime.fromtimestamp(decision.time_ms / 1000, tz=UTC)
        say(
            f"[{number}/{len(decisions)}] {decision.where}  {moment:%Y-%m-%d %H:%M} UTC  "
            f"{decision.symbol}  model {decision.model_version}"
        )
        say(
            f"  the clone chose {decision.action} at p={decision.probability:.3f} "
            f"(threshold {decision.threshold:.3f})"
        )
        if isinstance(show_features, int):
            shown = list(decision.features)[:show_features]
        else:
            shown = [name for name in show_features if name in decision.features]
        say("  " + "  ".join(f"{name}={decision.features[name]:.6g}" for name in shown))
        while True:
            try:
                key = ask("label [b/s/c/n, k skip, q quit]> ").strip().lower()
            except EOFError:
                key = "q"
            if key in KEYS:
                labels.append(Label.of(decision, KEYS[key]))
                break
            if key == "k":
                break
            if key == "q":
                return labels, True
            say(f"{key!r}? {_HELP}")
    return labels, False


def read_labels(path: Path) -> dict[tuple[int, str], Label]:
    """The labels already in ``path`` (none when it does not exist), by (time, symbol)."""
    if not path.exists():
        return {}
    rows = csv_rows(path)
    header_where, header = next(rows, (None, None))
    if header is None:
        return {}
    names = [cell.strip().lower() for cell in header]
    if TIME_COLUMN not in names or LABEL_COLUMN not in names:
        raise LabelError(f"{header_where}: not a labels file (header {names})")
    existing: dict[tuple[int, str], Label] = {}
    for where, cells in rows:
        field = dict(zip(names, (cell.strip() for cell in cells), strict=False))
        try:
            label = Label(
                int(field[TIME_COLUMN]),
                field[LABEL_COLUMN].lower(),
                *(field.get(name, "") for name in OUTPUT_COLUMNS[2:]),
            )
        except (KeyError, ValueError):
            raise LabelError(
                f"{where}: unreadable line in the labels file; fix or move it"
            ) from None
        if label.label not in LABELS:
            raise LabelError(f"{where}: unknown label {label.label!r} in the labels file")
        existing[label.key] = label
    return existing


def write_labels(path: Path, labels: Iterable[Label]) -> None:
    """All ``labels``, oldest first, replacing ``path`` atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    for label in sorted(labels, key=lambda item: item.key):
        writer.writerow(
            (label.time_ms, label.label, label.symbol, label.model_action, label.model_probability)
        )
    write_atomic(path, buffer.getvalue())
