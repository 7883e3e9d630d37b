"""Contracts every zoo bot keeps on the real histories, checked for each bot on each dataset.

The trade log is what BotCopier learns from, so the labels and positions `label_bars`
derives from a bot's events must be exactly what the bot itself decided and held, bar by
bar; each bot must trade a realistic amount; and no two bots may be the same bot.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from botcopier.bridge.simulator.history import DATASETS, dataset_bars
from botcopier.bridge.simulator.zoo import ZOO, ZooBot, make_zoo_bot, run_bot
from botcopier.trainers.labels import LABELS, label_bars
from tests.zoo_data import zoo_frame, zoo_run

CASES = [(bot, dataset) for bot in ZOO for dataset in DATASETS]
# Entries a bot must make at least: 5,000 H1 bars are ~10 months, 1,292 H4 and 2,148 D1 fewer.
MIN_ENTRIES = {"EURUSD_H1": 30, "EURUSD_H4": 15, "GOOG_D1": 15}


def test_the_zoo_has_at_least_12_bots_with_their_own_magic_and_comment():
    assert len(ZOO) >= 12
    assert len({cls.magic for cls in ZOO.values()}) == len(ZOO)
    for name, cls in ZOO.items():
        assert issubclass(cls, ZooBot) and cls.name == name
        assert cls.rules, f"{name} has no one-line rules"


@pytest.mark.parametrize(("bot", "dataset"), CASES)
def test_labels_from_the_trade_log_reproduce_the_bots_decisions(bot, dataset):
    run = zoo_run(bot, dataset)
    labelled = label_bars(zoo_frame(dataset), run.events)
    assert len(run.decisions) == len(labelled)
    assert (labelled["label"].to_numpy() != np.array(run.decisions)).sum() == 0
    assert (labelled["position"].to_numpy() != np.array(run.positions)).sum() == 0
    assert set(run.decisions) <= set(LABELS)


@pytest.mark.parametrize(("bot", "dataset"), CASES)
def test_each_bot_trades_a_realistic_amount(bot, dataset):
    run = zoo_run(bot, dataset)
    if ZOO[bot].intraday_only and dataset.endswith("D1"):
        assert run.entries == 0
        return
    assert MIN_ENTRIES[dataset] <= run.entries <= len(run.decisions) // 5
    assert "buy" in run.decisions and "sell" in run.decisions


@pytest.mark.parametrize("bot", list(ZOO))
def test_events_carry_the_bots_magic_and_comment_and_tickets_close_once(bot):
    run = zoo_run(bot, "EURUSD_H1")
    opened = [e for e in run.events if e["action"] == "OPEN"]
    closed = [e for e in run.events if e["action"] == "CLOSE"]
    assert {e["magic"] for e in run.events} == {ZOO[bot].magic}
    assert {e["comment"] for e in opened} == {bot}
    assert len({e["ticket"] for e in closed}) == len(closed)
    assert {e["ticket"] for e in closed} <= {e["ticket"] for e in opened}
    times = [e["event_time_ms"] for e in run.events]
    assert times == sorted(times)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_no_two_bots_make_the_same_decisions(dataset):
    decisions = {bot: np.array(zoo_run(bot, dataset).decisions) for bot in ZOO}
    for first, second in itertools.combinations(ZOO, 2):
        differing = int((decisions[first] != decisions[second]).sum())
        assert differing >= 20, f"{first} and {second} differ on only {differing} bars"


def test_a_run_is_deterministic():
    bars = dataset_bars("EURUSD_H1")
    again = run_bot(make_zoo_bot("ma-pyramid", bars), bars)
    assert again == zoo_run("ma-pyramid").events


def test_the_pyramid_holds_two_tickets_at_times():
    run = zoo_run("ma-pyramid")
    held, most = set(), 0
    for event in run.events:
        if event["action"] == "OPEN":
            held.add(event["ticket"])
        elif event["action"] == "CLOSE":
            held.discard(event["ticket"])
        most = max(most, len(held))
    assert most == 2
