"""Entry timing: how many bars a clone's entries are from its bot's, and how many it misses."""

from __future__ import annotations

import pytest

from botcopier.trainers.entry_timing import entry_timing, result_fields


def labels(length: int, **at: str) -> list[str]:
    """``length`` bars of none, with ``b<i>``/``s<i>`` keywords placing buys and sells."""
    out = ["none"] * length
    for key, side in at.items():
        out[int(key[1:])] = side
    return out


def test_a_clone_late_by_a_bar_or_two_is_matched_with_its_distance():
    truth = labels(30, b2="buy", b10="sell", b20="buy")
    said = labels(30, b3="buy", b12="sell", b20="buy")
    t = entry_timing(truth, said, window_bars=5)
    assert (t["bot_entries"], t["matched"], t["unmatched"]) == (3, 3, 0)
    assert t["matched_share"] == 1.0
    assert t["mean_bars"] == pytest.approx(1.0)  # 1, 2, 0
    assert t["median_bars"] == 1.0
    assert t["mean_lag_bars"] == pytest.approx(1.0)  # all late or on time


def test_the_wrong_side_or_too_far_away_is_unmatched_and_counted_apart():
    truth = labels(30, b2="buy", b10="sell", b20="buy")
    said = labels(30, b2="sell", b10="sell", b27="buy")  # 27 is 7 bars after 20
    t = entry_timing(truth, said, window_bars=5)
    assert (t["matched"], t["unmatched"]) == (1, 2)
    assert t["matched_share"] == pytest.approx(1 / 3)
    assert (t["mean_bars"], t["median_bars"]) == (0.0, 0.0)
    assert entry_timing(truth, said, window_bars=7)["matched"] == 2


def test_the_nearest_entry_wins_and_an_early_one_on_a_tie():
    truth = labels(20, b10="buy")
    assert entry_timing(truth, labels(20, b7="buy", b12="buy"))["mean_lag_bars"] == 2.0
    assert entry_timing(truth, labels(20, b8="buy", b12="buy"))["mean_lag_bars"] == -2.0


def test_no_bot_entry_gives_no_figures_rather_than_made_up_ones():
    t = entry_timing(labels(10), labels(10, b3="buy"))
    assert t["bot_entries"] == 0 and t["matched_share"] is None and t["mean_bars"] is None
    assert result_fields(t)["timing_matched_share"] == "n/a"
    with pytest.raises(ValueError, match="3 true labels but 2"):
        entry_timing(["none"] * 3, ["none"] * 2)
