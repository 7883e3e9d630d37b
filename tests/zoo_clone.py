"""A zoo bot's clone, trained as a user's `botcopier train` would, scored open and closed loop.

`clone_zoo_bot` is what ``bench/clone_zoo.py`` runs for every bot and dataset, and what the
clone tests hold to their floors.
"""

from __future__ import annotations

import time

from botcopier.bridge.simulator.history import SYMBOLS, bar_frame, dataset_bars
from botcopier.bridge.simulator.zoo import ZOO, run_zoo_bot
from botcopier.codegen.strategy import StrategyInputs, max_tickets
from botcopier.trainers.backtest import BacktestInputs, run_backtest
from botcopier.trainers.batch import TrainOptions
from botcopier.trainers.dataset import build_dataset, time_split
from botcopier.trainers.features import CANDIDATE_FEATURES
from botcopier.trainers.scores import clone_scores
from botcopier.trainers.sources import BotHistory
from botcopier.trainers.train_command import train_best
from botcopier.trainers.train_extras import stops_section


def clone_zoo_bot(bot_name: str, dataset: str, family: str) -> dict[str, float | int | str] | None:
    """The scores of one bot's clone on one dataset; None when the bot never trades there
    (an intraday-only bot on daily bars)."""
    bars = dataset_bars(dataset)
    frame = bar_frame(bars)
    run = run_zoo_bot(bot_name, bars)
    if run.entries == 0:
        return None
    spec = SYMBOLS[bars[0].symbol]
    bot = {"account": 1, "magic": ZOO[bot_name].magic, "symbol": spec.symbol,
           "timeframe_minutes": bars[0].timeframe_minutes}  # fmt: skip
    history = BotHistory(bot, frame, run.events, None, None, "zoo")
    data = build_dataset(frame, run.events, CANDIDATE_FEATURES)
    options = TrainOptions(family=family)
    started = time.monotonic()
    result = train_best(
        data,
        bot,
        bot_name,
        options,
        lambda line: None,
        post_fit=stops_section(history, say=lambda line: None),
    )
    fit_s = time.monotonic() - started
    split = time_split(len(data), options.validation, options.test)
    test = data.rows(split.test)
    # The clone starts trading on its own at the validation bars, flat, so that by the test
    # bars it holds what its own decisions led to, not an arbitrary flat start.
    start_ms = int(data.time_ms.iloc[split.validation.start])
    point = 10.0**-spec.digits
    pip = point * (10 if spec.digits in (3, 5) else 1)
    inputs = BacktestInputs(strategy=StrategyInputs(pip_size=pip), point=point)
    backtest = run_backtest([result.document], frame, inputs, start_ms=start_ms)
    said_at = dict(backtest.decisions)
    truth = list(test.labels)
    said = [said_at.get(int(t), "none") for t in test.time_ms]
    closed = clone_scores(truth, said)
    return {
        "bot": bot_name,
        "dataset": dataset,
        "family": result.document["estimator"]["family"],
        "features": len(result.document["features"]),
        "max_tickets": max_tickets(result.document),
        "entries": run.entries,
        "test_entries": sum(label in ("buy", "sell") for label in truth),
        "entry_f1": result.test["entry_macro_f1"],
        "agreement": result.test["bar_agreement"],
        "closed_f1": closed["entry_macro_f1"],
        "closed_agreement": closed["bar_agreement"],
        "fit_s": fit_s,
    }
