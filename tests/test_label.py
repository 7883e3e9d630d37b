"""`botcopier label`: the EA's uncertain decisions labelled into the trainer's review file."""

import os
import subprocess
import sys

import numpy as np
import pytest

from botcopier.cli import main
from botcopier.trainers.decision_log import LabelError
from botcopier.trainers.label_rules import parse_rule
from botcopier.trainers.sample_weights import sample_weights

HEADER = "time,symbol,model_version,action,probability,threshold,uncertain,rsi_14,position"
HOUR_MS = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def write_log(path, lines):
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def decision(hour, action="buy", uncertain=1, rsi=50.0, position=0, probability=0.52):
    return (
        f"{T0 + hour * HOUR_MS},EURUSD,v1,{action},{probability},0.5,{uncertain},{rsi},{position}"
    )


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOTCOPIER_PATHS__STATE_DIR", str(tmp_path / "state"))

    def invoke(*argv, stdin=""):
        monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(stdin))
        code = main(["label", *map(str, argv)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_rule_labels_round_trip_into_the_trainers_sample_weights(tmp_path, run):
    log = write_log(
        tmp_path / "decisions.csv",
        [
            decision(0, rsi=25, position=0),  # oversold and flat: buy
            decision(1, rsi=80, position=1),  # overbought and long: close
            decision(2, rsi=50, position=0),  # no rule holds
            decision(3, rsi=20, position=0, uncertain=0),  # sure of itself: not labelled
            decision(4, action="OPEN_SELL", rsi=75, position=-1),  # second rule's close
        ],
    )
    out = tmp_path / "labels.csv"
    code, text, _ = run(
        log,
        "--out",
        out,
        "--rule",
        "rsi_14 < 30 and position == 0 -> buy",
        "--rule",
        "abs(position) == 1 and (rsi_14 > 70 or rsi_14 < 30) -> close",
    )
    assert code == 0
    assert f"{log}:4: no rule matched" in text

    # Training rows on every hour: the labelled ones get the weight and the human's label.
    times = np.array([T0 + hour * HOUR_MS for hour in range(6)])
    result = sample_weights(times, uncertain_file=out, uncertain_weight=4.0)
    assert result.problems == [] and result.unmatched == []
    assert result.label_overrides == {0: "buy", 1: "close", 4: "close"}
    assert result.weights.tolist() == [4.0, 4.0, 1.0, 1.0, 4.0, 1.0]


def test_bad_lines_are_reported_with_line_numbers_and_the_good_ones_labelled(tmp_path, run):
    log = write_log(
        tmp_path / "decisions.csv",
        [
            decision(0, rsi=25),
            "1704070800000,EURUSD,v1,buy,0.5,0.5,1,25",  # a field short
            decision(2, action="hold"),
            decision(3, uncertain="maybe"),
            decision(4, rsi="n/a"),
            "1704081600,EURUSD,v1,buy,0.5,0.5,1,25,0",  # seconds, not ms
            decision(6, rsi=10),
        ],
    )
    out = tmp_path / "labels.csv"
    code, text, _ = run(log, "--out", out, "--rule", "rsi_14 < 30 -> buy")
    assert code == 1
    for line, reason in [
        (3, "8 fields, the header has 9"),
        (4, "action 'hold' is not one of"),
        (5, "uncertain 'maybe' is not 1, 0"),
        (6, "rsi_14 'n/a' is not a number"),
        (7, "time '1704081600' looks like seconds"),
    ]:
        assert f"{log}:{line}: {reason}" in text
    assert "5 problems" in text
    rows = out.read_text().splitlines()
    assert rows[0] == "decision_time_ms,label,symbol,model_action,model_probability"
    assert [row.split(",")[:2] for row in rows[1:]] == [
        [str(T0), "buy"],
        [str(T0 + 6 * HOUR_MS), "buy"],
    ]


def test_a_rule_that_cannot_be_computed_reports_the_line(tmp_path, run):
    log = write_log(
        tmp_path / "d.csv", [decision(0, rsi=25, position=1), decision(1, rsi=25, position=0)]
    )
    code, text, _ = run(log, "--out", tmp_path / "l.csv", "--rule", "rsi_14 / position > 1 -> buy")
    assert code == 1
    assert f"{log}:3: rule 'rsi_14 / position > 1 -> buy': float division by zero" in text
    assert "1 labelled now" in text


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("__import__('os').system('true') -> buy", "calls only abs, min, max"),
        ("open('x') -> buy", "calls only abs, min, max"),
        ("rsi_14.real > 1 -> buy", "Attribute is not allowed"),
        ("[x for x in ()] -> buy", "ListComp is not allowed"),
        ("rsi_14 ** 2 > 1 -> buy", "BinOp is not allowed"),
        ("lambda: 1 -> buy", "Lambda is not allowed"),
        ("rsi > 1 -> buy", "unknown name 'rsi'"),
        ("rsi_14 < 30 -> hold", "label 'hold' is not one of"),
        ("rsi_14 < 30", "expected CONDITION -> LABEL"),
        ("rsi_14 < -> buy", "not a condition"),
    ],
)
def test_rules_outside_the_grammar_are_refused_before_anything_runs(rule, reason):
    with pytest.raises(LabelError, match=reason.replace("(", r"\(").replace("*", r"\*")):
        parse_rule(rule, names={"rsi_14", "position"})


def test_rules_do_not_do_arithmetic_on_text():
    rule = parse_rule("symbol * 1000000000 == 'x' -> buy", names={"symbol"})
    with pytest.raises(ValueError, match="arithmetic on text"):
        rule.matches({"symbol": "EURUSD"})


def test_labels_from_a_csv_match_uncertain_decisions_by_time(tmp_path, run):
    log = write_log(tmp_path / "decisions.csv", [decision(0), decision(1), decision(2)])
    given = tmp_path / "given.csv"
    # MT4 server time two hours ahead of UTC; one label for a decision that is not in the log.
    given.write_text(
        "time;label\n2024.01.01 02:00;sell\n2024.01.01 03:00;NONE\n2024.01.01 09:00;buy\n"
        "2024.01.01 04:00;hold\n"
    )
    out = tmp_path / "labels.csv"
    code, text, _ = run(log, "--out", out, "--from-csv", given, "--server-utc-offset", "2")
    assert code == 1
    assert f"{given}:4: names no uncertain decision of the log" in text
    assert f"{given}:5: unknown label 'hold'" in text
    result = sample_weights(np.array([T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS]), uncertain_file=out)
    assert result.label_overrides == {0: "sell", 1: "none"}


def test_a_bad_header_is_an_error(tmp_path, run):
    log = tmp_path / "decisions.csv"
    log.write_text("time,symbol,action\n1,EURUSD,buy\n")
    code, _, err = run(log, "--out", tmp_path / "labels.csv")
    assert code == 2
    assert err.startswith("botcopier: error: ") and "must start with time,symbol" in err
    assert not (tmp_path / "labels.csv").exists()


def test_the_terminal_session_labels_skips_quits_and_resumes(tmp_path):
    log = write_log(tmp_path / "decisions.csv", [decision(hour) for hour in range(5)])
    out = tmp_path / "labels.csv"
    argv = [sys.executable, "-m", "botcopier.cli", "label", str(log), "--out", str(out)]
    env = {**os.environ, "BOTCOPIER_PATHS__STATE_DIR": str(tmp_path / "state")}

    # buy, skip, an unknown key then sell, then quit before the fourth.
    first = subprocess.run(
        argv, input="b\nk\nx\ns\nq\n", capture_output=True, text=True, env=env, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert "5 uncertain decisions to label (0 done)" in first.stdout
    assert "[1/5]" in first.stdout and "2024-01-01 00:00 UTC  EURUSD  model v1" in first.stdout
    assert "the clone chose buy at p=0.520 (threshold 0.500)" in first.stdout
    assert "rsi_14=50  position=0" in first.stdout
    assert "'x'? keys: b buy, s sell, c close, n none, k skip, q save and quit" in first.stdout
    assert "[4/5]" in first.stdout and "[5/5]" not in first.stdout

    # The skipped decision is asked again, the labelled ones are not; end of input saves.
    second = subprocess.run(argv, input="c\n", capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "3 uncertain decisions to label (2 done)" in second.stdout

    times = np.array([T0 + hour * HOUR_MS for hour in range(5)])
    result = sample_weights(times, uncertain_file=out, uncertain_weight=2.0)
    assert result.label_overrides == {0: "buy", 1: "close", 2: "sell"}
    assert result.problems == []


def test_unknown_features_to_show_are_an_error(tmp_path, run):
    log = write_log(tmp_path / "decisions.csv", [decision(0)])
    code, _, err = run(log, "--out", tmp_path / "labels.csv", "--features", "rsi_14,macd")
    assert code == 2
    assert "the log has no macd" in err
