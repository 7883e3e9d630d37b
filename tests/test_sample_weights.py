"""Sample weights and human labels from the uncertain and replay files; nothing dropped silently."""

from __future__ import annotations

import json

import numpy as np
import pytest

from botcopier.trainers.sample_weights import sample_weights

HOUR_MS = 3_600_000
TIMES = np.arange(1, 11, dtype=np.int64) * HOUR_MS  # ten training rows, hourly decisions


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_files_means_unit_weights():
    result = sample_weights(TIMES)
    assert result.weights.tolist() == [1.0] * 10
    assert result.label_overrides == {}
    assert (result.matched, result.unmatched, result.problems) == (0, [], [])


def test_uncertain_rows_are_weighted_and_relabelled(tmp_path):
    path = write(
        tmp_path,
        "uncertain.csv",
        f"decision_time_ms,label,probability\n{2 * HOUR_MS},buy,0.51\n{5 * HOUR_MS},CLOSE,0.49\n",
    )
    result = sample_weights(TIMES, uncertain_file=path, uncertain_weight=4.0)
    assert result.weights.tolist() == [1, 4, 1, 1, 4, 1, 1, 1, 1, 1]
    assert result.label_overrides == {1: "buy", 4: "close"}
    assert result.matched == 2
    assert result.unmatched == [] and result.problems == []


def test_replay_rows_are_weighted_and_weights_multiply(tmp_path):
    uncertain = write(tmp_path, "u.csv", f"decision_time_ms,label\n{3 * HOUR_MS},sell\n")
    replay = write(tmp_path, "r.csv", f"decision_time_ms\n{3 * HOUR_MS}\n{7 * HOUR_MS}\n")
    result = sample_weights(
        TIMES, uncertain_file=uncertain, uncertain_weight=2.0, replay_file=replay, replay_weight=1.5
    )
    assert result.weights[2] == 3.0 and result.weights[6] == 1.5
    assert np.count_nonzero(result.weights != 1.0) == 2
    assert result.label_overrides == {2: "sell"}
    assert result.matched == 3


def test_lines_that_match_no_row_are_reported_with_file_and_line(tmp_path):
    replay = write(tmp_path, "replay.csv", f"decision_time_ms\n{HOUR_MS}\n\n{HOUR_MS + 1}\n")
    result = sample_weights(TIMES, replay_file=replay, replay_weight=2.0)
    assert result.matched == 1
    assert result.unmatched == [f"{replay}:4"]  # the header is line 1, blank line 3 skipped
    assert result.weights[0] == 2.0


def test_malformed_lines_are_problems_with_reasons(tmp_path):
    path = write(
        tmp_path,
        "uncertain.csv",
        "decision_time_ms,label\n"
        f"{HOUR_MS},hold\n"  # unknown label
        "yesterday,buy\n"  # not a number
        f"{2 * HOUR_MS + 0.5},buy\n"  # not whole milliseconds
        f"{4 * HOUR_MS}\n"  # label missing
        f"{3 * HOUR_MS},sell\n",
    )
    result = sample_weights(TIMES, uncertain_file=path, uncertain_weight=2.0)
    assert result.problems == [
        f"{path}:2: unknown label 'hold' (one of none, buy, sell, close)",
        f"{path}:3: decision_time_ms 'yesterday' is not a time",
        f"{path}:4: decision_time_ms '7200000.5' is not a time",
        f"{path}:5: unknown label '' (one of none, buy, sell, close)",
    ]
    assert result.matched == 1 and result.label_overrides == {2: "sell"}
    # Every data line is accounted for exactly once.
    assert result.matched + len(result.unmatched) + len(result.problems) == 5


def test_a_missing_column_is_an_error_naming_it(tmp_path):
    path = write(tmp_path, "uncertain.csv", f"decision_time_ms,action\n{HOUR_MS},buy\n")
    with pytest.raises(ValueError, match=r"uncertain\.csv:1: header lacks column label"):
        sample_weights(TIMES, uncertain_file=path)
    replay = write(tmp_path, "replay.csv", f"time\n{HOUR_MS}\n")
    with pytest.raises(ValueError, match="lacks column decision_time_ms"):
        sample_weights(TIMES, replay_file=replay)
    empty = write(tmp_path, "empty.csv", "\n\n")
    with pytest.raises(ValueError, match="empty file"):
        sample_weights(TIMES, replay_file=empty)


def test_weights_must_be_positive(tmp_path):
    replay = write(tmp_path, "replay.csv", f"decision_time_ms\n{HOUR_MS}\n")
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="replay_weight must be a finite number above 0"):
            sample_weights(TIMES, replay_file=replay, replay_weight=bad)


def test_semicolon_and_tab_files_with_a_bom_and_any_column_case(tmp_path):
    semicolon = tmp_path / "u.csv"
    semicolon.write_bytes(f"\ufeffLabel;Decision_Time_Ms\nbuy;{HOUR_MS}\n".encode())
    tabbed = write(tmp_path, "r.tsv", f"ea\tdecision_time_ms\nsim-1\t{2 * HOUR_MS}\r\n")
    result = sample_weights(
        TIMES, uncertain_file=semicolon, uncertain_weight=2, replay_file=tabbed, replay_weight=3
    )
    assert result.weights[:3].tolist() == [2.0, 3.0, 1.0]
    assert result.label_overrides == {0: "buy"}


def test_a_decision_named_twice_is_weighted_once_and_a_relabel_is_reported(tmp_path):
    path = write(
        tmp_path,
        "uncertain.csv",
        f"decision_time_ms,label\n{HOUR_MS},buy\n{HOUR_MS},buy\n{HOUR_MS},sell\n",
    )
    result = sample_weights(TIMES, uncertain_file=path, uncertain_weight=2.0)
    assert result.weights[0] == 2.0
    assert result.label_overrides == {0: "sell"}
    assert result.problems == [
        f"{path}:4: relabels decision {HOUR_MS} as 'sell' ({path}:3 said 'buy'); "
        "the later label is used"
    ]


def test_training_rows_sharing_a_time_are_all_matched(tmp_path):
    times = np.array([HOUR_MS, HOUR_MS, 2 * HOUR_MS])
    replay = write(tmp_path, "replay.csv", f"decision_time_ms\n{HOUR_MS}\n")
    assert sample_weights(times, replay_file=replay, replay_weight=5).weights.tolist() == [5, 5, 1]


def test_times_must_be_whole_milliseconds():
    assert sample_weights(TIMES.astype(float)).weights.shape == (10,)
    with pytest.raises(ValueError, match="whole milliseconds"):
        sample_weights(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        sample_weights(TIMES.reshape(2, 5))


def test_summary_is_plain_json(tmp_path):
    path = write(tmp_path, "u.csv", f"decision_time_ms,label\n{HOUR_MS},buy\n5,sell\nx,buy\n")
    result = sample_weights(TIMES, uncertain_file=path, uncertain_weight=2.0)
    summary = result.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["matched"] == 1 and summary["unmatched"] == 1 and summary["problems"] == 1
    assert summary["weighted_rows"] == 1 and summary["label_overrides"] == 1
    assert all(type(k) is int for k in result.label_overrides)
