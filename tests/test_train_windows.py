"""`botcopier train|evaluate --train-until/--test-from`: windows by bar time, printed exactly,
and the history's last bar (its decision unknown) never scored; from files, no Kafka."""

from __future__ import annotations

import pandas as pd
import pytest

from botcopier.cli import main
from botcopier.trainers.model_document import load_model
from tests.seed_files import write_bot_files
from tests.test_train_command import result_fields

HOUR_MS = 3_600_000
MARCH_1_MS = 1_709_251_200_000  # 2024-03-01 00:00 UTC
MARCH_4_MS = MARCH_1_MS + 3 * 24 * HOUR_MS


@pytest.fixture(scope="module")
def bot_files(tmp_path_factory):
    bars, trades_raw, _ = write_bot_files(tmp_path_factory.mktemp("windows"), count=2_500)
    return bars, trades_raw, pd.read_csv(bars)["time"]


def window_lines(output: str) -> list[str]:
    return [line.removeprefix("window: ") for line in output.splitlines() if "window:" in line]


def test_train_until_and_test_from_cut_the_bars_by_time(bot_files, tmp_path, capsys):
    bars, trades_raw, times = bot_files
    data = ["--bars", str(bars), "--events", str(trades_raw), "--account", "7", "--magic", "1001"]
    dates = ["--train-until", "2024-03-01", "--test-from", "2024.03.04 00:00"]
    args = ["train", *data, *dates, "--model", "lightgbm", "--rounds", "60", "--out", str(tmp_path)]
    assert main(args) == 0
    output = capsys.readouterr().out
    lines = window_lines(output)
    last_ms = int(times.iloc[-1])
    scored = int(((times >= MARCH_4_MS) & (times < last_ms)).sum())
    assert lines[0].startswith("train      2024-01-")
    assert lines[1].startswith("validation ") and lines[1].split(" .. ")[1].startswith(
        "2024-02-29 23:00 "
    )  # the last bar opening before --train-until
    assert lines[2] == f"test       2024-03-04 00:00 .. 2024-04-14 02:00 ({scored} bars)"
    assert lines[3].startswith("not used   2024-04-14 03:00, the last bar")
    [path] = tmp_path.glob("*.model.json")
    model = load_model(path)
    assert model["training"]["until_ms"] == MARCH_1_MS - HOUR_MS  # validation ends there
    assert model["metrics"]["test"]["rows"] == scored
    assert model["metrics"]["test"]["entry_macro_f1"] >= 0.95
    # An existing model scored on the same window by date: the trainer's own test scores.
    assert main(["evaluate", *data, "--test-from", "2024-03-04", "--score-model", str(path)]) == 0
    fields = result_fields(capsys.readouterr().out)
    assert int(fields["test_bars"]) == scored
    expected = model["metrics"]["test"]["entry_macro_f1"]
    assert float(fields["entry_macro_f1"]) == pytest.approx(expected, abs=5e-5)


def test_the_last_bar_is_never_scored_with_shares_either(bot_files, capsys):
    bars, trades_raw, times = bot_files
    args = ["evaluate", "--bars", str(bars), "--events", str(trades_raw), "--account", "7"]
    assert main([*args, "--magic", "1001", "--model", "linear", "--test", "0.25"]) == 0
    output = capsys.readouterr().out
    lines = window_lines(output)
    assert lines[2].endswith(f"({result_fields(output)['test_bars']} bars)")
    assert lines[2].split(" .. ")[1].startswith("2024-04-14 02:00 ")  # the bar before the last
    assert lines[3].startswith("not used   2024-04-14 03:00")


def test_windows_that_cannot_be_cut_are_refused_in_one_line(bot_files, capsys):
    bars, trades_raw, _ = bot_files
    args = ["evaluate", "--bars", str(bars), "--events", str(trades_raw), "--account", "7"]
    args += ["--magic", "1001"]

    def refusal(*more: str, command: str = "evaluate") -> str:
        assert main([command, *args[1:], *more]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        return err

    overlap = refusal("--train-until", "2024-03-04", "--test-from", "2024-03-01")
    assert "--train-until 2024-03-04 00:00 is after --test-from 2024-03-01 00:00" in overlap
    late = refusal("--test-from", "2024-04-14 03:00")
    assert "no test bars: the usable bars run from 2024-01-" in late
    assert "to 2024-04-14 02:00" in late
    assert "--train-until '2024-02-30': unreadable time" in refusal("--train-until", "2024-02-30")
    lite = refusal("--lite-mode", "--test-from", "2024-03-01", command="train")
    assert "the lite trainer streams them" in lite
