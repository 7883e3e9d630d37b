"""An EA's logged decisions against what the bot did on the same bars.

The decision log (`botcopier.trainers.decision_log`) stamps each decision with the time the
bar it decided on was opened by the terminal, ``Time[0]``: the open of the bar after the
closed one the features describe, i.e. a training row's ``time_ms`` plus the timeframe.
Rows and decisions are paired on that time; decisions matching no row (outside the bot's
history, another timeframe) are counted, not scored.

Examples
--------
>>> import pandas as pd
>>> from botcopier.trainers.dataset import Dataset
>>> from botcopier.trainers.decision_log import Decision
>>> data = Dataset(pd.DataFrame({"x": [0.0, 0.0, 0.0]}), pd.Series(["none", "buy", "none"]),
...                pd.Series([0, 3_600_000, 7_200_000]))
>>> logged = [Decision("log:2", 7_200_000, "EURUSD", "v1", "buy", 0.7, 0.5, False, {}),
...           Decision("log:3", 10_800_000, "EURUSD", "v1", "buy", 0.6, 0.5, False, {}),
...           Decision("log:4", 99_000_000, "EURUSD", "v1", "none", 0.1, 0.5, False, {})]
>>> paired = pair_decisions(data, 60, logged)
>>> paired.truth, paired.said, paired.unmatched
(['buy', 'none'], ['buy', 'buy'], ['log:4'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botcopier.trainers.dataset import Dataset
from botcopier.trainers.decision_log import Decision

_MINUTE_MS = 60_000


@dataclass(frozen=True)
class PairedDecisions:
    truth: list[str]  # what the bot did, bar by bar, in time order
    said: list[str]  # what the EA decided on those bars
    unmatched: list[str]  # "file:line" of decisions on no known bar


def pair_decisions(
    data: Dataset, timeframe_minutes: int, decisions: Sequence[Decision]
) -> PairedDecisions:
    by_time = {d.time_ms: d for d in decisions}  # a repeated bar: the last line wins
    truth, said, matched = [], [], set()
    decision_ms = data.time_ms.to_numpy() + timeframe_minutes * _MINUTE_MS
    for label, moment in zip(data.labels, decision_ms, strict=True):
        decision = by_time.get(int(moment))
        if decision is not None:
            truth.append(label)
            said.append(decision.action)
            matched.add(int(moment))
    unmatched = [d.where for d in decisions if d.time_ms not in matched]
    return PairedDecisions(truth, said, unmatched)
