"""Clones of zoo bots on real EURUSD H1 bars, trained with the user's defaults.

Each clone is trained on the first 70% of the bot's history by time and scored on the last
30% twice: deciding with the bot's own position (open loop) and trading on its own with the
EA's rules (closed loop). The floors are the issue's: 0.95 entry macro-F1 and 0.99 bar
agreement, the closed loop within 0.05 of the open. `bench/clone_zoo.py` runs every bot.
"""

from __future__ import annotations

import pytest

from tests.zoo_clone import clone_zoo_bot


@pytest.mark.parametrize(
    "bot", ["ema-8-21", "rsi-14-levels", "stoch-14-ema50", "cci-20-100", "adx-14-di"]
)
def test_a_default_clone_copies_an_indicator_bot_it_was_not_built_around(bot):
    scores = clone_zoo_bot(bot, "EURUSD_H1", "auto")
    assert scores["test_entries"] >= 25
    assert scores["entry_f1"] >= 0.95
    assert scores["agreement"] >= 0.99
    assert scores["closed_f1"] >= scores["entry_f1"] - 0.05


def test_a_time_exit_is_copied_through_the_position_age():
    """stoch-5-3-3 closes after 12 bars: only the position's age says when."""
    scores = clone_zoo_bot("stoch-5-3-3", "EURUSD_H1", "auto")
    assert scores["entry_f1"] >= 0.95 and scores["closed_f1"] >= 0.95
    assert scores["closed_agreement"] >= 0.99


def test_a_pyramid_is_copied_with_its_second_ticket():
    """ma-pyramid adds a second order 1 ATR in profit: the clone may hold two, and adds too."""
    scores = clone_zoo_bot("ma-pyramid", "EURUSD_H1", "auto")
    assert scores["max_tickets"] == 2
    assert scores["entry_f1"] >= 0.95 and scores["agreement"] >= 0.99
    assert scores["closed_f1"] >= scores["entry_f1"] - 0.05
